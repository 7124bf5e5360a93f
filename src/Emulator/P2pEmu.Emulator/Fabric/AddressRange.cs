using System.Globalization;

namespace P2pEmu.Emulator.Fabric;

/// <summary>A half-open range of bus addresses [Base, Base + SizeBytes).</summary>
public readonly record struct AddressRange(ulong Base, ulong SizeBytes)
{
    public ulong End => Base + SizeBytes;

    public ulong Limit => Base + SizeBytes - 1;

    public bool IsEmpty => SizeBytes == 0;

    public bool Contains(ulong address) => unchecked(address - Base) < SizeBytes;

    public override string ToString() =>
        IsEmpty ? "[empty]" : string.Create(CultureInfo.InvariantCulture, $"[0x{Base:x}-0x{Limit:x}]");
}
