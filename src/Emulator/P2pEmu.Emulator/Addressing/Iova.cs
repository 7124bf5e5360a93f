using System.Globalization;

namespace P2pEmu.Emulator.Addressing;

/// <summary>An I/O virtual address inside one IOMMU domain: the input of a page-table walk.</summary>
public readonly record struct Iova(ulong Value)
{
    public override string ToString() => "0x" + Value.ToString("x", CultureInfo.InvariantCulture);
}
