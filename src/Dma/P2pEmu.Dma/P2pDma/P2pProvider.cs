using P2pEmu.Emulator.Pci;

namespace P2pEmu.Dma.P2pDma;

/// <summary>
/// Linux <c>struct p2pdma_provider</c>: one per memory BAR of a device with P2PDMA state. The bus offset
/// turns a CPU physical address of the BAR into the PCI bus address a peer must use.
/// </summary>
public sealed class P2pProvider
{
    internal P2pProvider(PciFunction owner, int bar, ulong busOffset)
    {
        Owner = owner;
        Bar = bar;
        BusOffset = busOffset;
    }

    /// <summary>The device that provides the memory (<c>owner</c>).</summary>
    public PciFunction Owner { get; }

    public int Bar { get; }

    /// <summary><c>pci_bus_address(bar) - pci_resource_start(bar)</c>.</summary>
    public ulong BusOffset { get; }

    public override string ToString() => $"{Owner.Name} BAR{Bar}";
}
