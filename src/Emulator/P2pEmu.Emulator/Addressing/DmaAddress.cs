using System.Globalization;

namespace P2pEmu.Emulator.Addressing;

/// <summary>
/// An address a device puts on the wire (Linux <c>dma_addr_t</c>): a bus address when the host chose
/// BUS_ADDR, an IOVA when the IOMMU translates. Switches route it by window; the root complex hands it
/// to the IOMMU, which turns it into a <see cref="BusAddress"/>.
/// </summary>
public readonly record struct DmaAddress(ulong Value)
{
    public DmaAddress Add(ulong bytes) => new(checked(Value + bytes));

    public override string ToString() => "0x" + Value.ToString("x", CultureInfo.InvariantCulture);
}
