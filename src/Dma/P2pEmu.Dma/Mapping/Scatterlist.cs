using P2pEmu.Emulator.Addressing;

namespace P2pEmu.Dma.Mapping;

/// <summary>
/// One Linux <c>struct scatterlist</c> entry: the CPU side (a physical address and length) and, once mapped,
/// the DMA side (the address the device uses and its length). A P2P segment the device reaches by bus
/// address is marked (<c>sg_dma_mark_bus_address</c>) so unmapping skips it.
/// </summary>
public sealed class Scatterlist
{
    public Scatterlist(PhysAddress phys, uint length)
    {
        Phys = phys;
        Length = length;
    }

    /// <summary>Where the segment is in CPU physical address space (<c>sg_phys</c>).</summary>
    public PhysAddress Phys { get; }

    public uint Length { get; }

    /// <summary><c>sg_dma_address</c>, valid for the first <see cref="SgTable.Nents"/> entries after mapping.</summary>
    public DmaAddress DmaAddress { get; internal set; }

    /// <summary><c>sg_dma_len</c>.</summary>
    public uint DmaLength { get; internal set; }

    /// <summary><c>sg_dma_is_bus_address</c>: a BUS_ADDR P2P segment, not mapped through the IOMMU.</summary>
    public bool IsBusAddress { get; internal set; }

    public override string ToString() => $"phys {Phys} +{Length} -> dma {DmaAddress} +{DmaLength}{(IsBusAddress ? " (bus address)" : string.Empty)}";
}
