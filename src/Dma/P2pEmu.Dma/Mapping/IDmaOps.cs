using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Dma.Mapping;

/// <summary>
/// Linux <c>struct dma_map_ops</c>: how one device's DMA addresses are made — directly (dma-direct, no
/// IOMMU or passthrough) or through its IOMMU domain (dma-iommu).
/// </summary>
internal interface IDmaOps
{
    DmaAddress MapPhys(DmaDevice dev, PhysAddress phys, ulong size, DmaDirection dir, DmaAttrs attrs);

    void UnmapPhys(DmaDevice dev, DmaAddress address, ulong size, DmaDirection dir, DmaAttrs attrs);

    Errno MapSg(DmaDevice dev, SgTable sgt, DmaDirection dir, DmaAttrs attrs);

    void UnmapSg(DmaDevice dev, SgTable sgt, DmaDirection dir, DmaAttrs attrs);

    bool IovaTryAlloc(DmaDevice dev, DmaIovaState state, PhysAddress phys, ulong size);

    Errno IovaLink(DmaDevice dev, DmaIovaState state, PhysAddress phys, ulong offset, ulong size, DmaDirection dir, DmaAttrs attrs);

    Errno IovaSync(DmaDevice dev, DmaIovaState state, ulong offset, ulong size);

    void IovaUnlink(DmaDevice dev, DmaIovaState state, ulong offset, ulong size, DmaDirection dir, DmaAttrs attrs);

    void IovaFree(DmaDevice dev, DmaIovaState state);
}
