using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Dma.Mapping;

/// <summary>
/// dma-direct (kernel/dma/direct.c): no IOMMU, or passthrough. A DMA address is the physical address
/// (bus == phys on this machine). P2P segments follow spec §3.2: BUS_ADDR keeps the bus address and is
/// marked, THRU_HOST_BRIDGE is mapped like memory, anything else fails the table with EREMOTEIO.
/// </summary>
/// <remarks>
/// Deviation: swiotlb is not modelled. A mapping that would need bouncing (beyond the device's DMA mask)
/// fails (DMA_MAPPING_ERROR / EIO) instead of being bounced; Linux also refuses to bounce MMIO.
/// </remarks>
internal sealed class DmaDirectOps : IDmaOps
{
    private readonly P2pDmaHost _p2p;

    public DmaDirectOps(P2pDmaHost p2p)
    {
        _p2p = p2p;
    }

    public DmaAddress MapPhys(DmaDevice dev, PhysAddress phys, ulong size, DmaDirection dir, DmaAttrs attrs) =>
        Reachable(dev, phys.Value, size) ? new DmaAddress(phys.Value) : DmaApi.DmaMappingError;

    public void UnmapPhys(DmaDevice dev, DmaAddress address, ulong size, DmaDirection dir, DmaAttrs attrs)
    {
    }

    public Errno MapSg(DmaDevice dev, SgTable sgt, DmaDirection dir, DmaAttrs attrs)
    {
        var state = new PciP2pdmaMapState();
        int mapped = 0;
        foreach (Scatterlist sg in sgt.Entries)
        {
            switch (_p2p.PciP2pdmaState(state, dev.Device, sg.Phys.Value))
            {
                case PciP2pdmaMapType.BusAddr:
                    sg.DmaAddress = new DmaAddress(P2pDmaHost.PciP2pdmaBusAddrMap(state.Provider!, sg.Phys.Value));
                    sg.IsBusAddress = true;
                    break;
                case PciP2pdmaMapType.None:
                case PciP2pdmaMapType.ThruHostBridge:
                    if (!Reachable(dev, sg.Phys.Value, sg.Length))
                    {
                        Undo(sgt, mapped);
                        return Errno.EIO;
                    }

                    sg.DmaAddress = new DmaAddress(sg.Phys.Value);
                    break;
                default:
                    Undo(sgt, mapped);
                    return Errno.EREMOTEIO;
            }

            sg.DmaLength = sg.Length;
            mapped++;
        }

        sgt.Nents = mapped;
        return Errno.None;
    }

    public void UnmapSg(DmaDevice dev, SgTable sgt, DmaDirection dir, DmaAttrs attrs) => Undo(sgt, sgt.Nents);

    public bool IovaTryAlloc(DmaDevice dev, DmaIovaState state, PhysAddress phys, ulong size)
    {
        state.UsesIova = false;
        return false;
    }

    public Errno IovaLink(DmaDevice dev, DmaIovaState state, PhysAddress phys, ulong offset, ulong size, DmaDirection dir, DmaAttrs attrs) => Errno.EINVAL;

    public Errno IovaSync(DmaDevice dev, DmaIovaState state, ulong offset, ulong size) => Errno.None;

    public void IovaUnlink(DmaDevice dev, DmaIovaState state, ulong offset, ulong size, DmaDirection dir, DmaAttrs attrs)
    {
    }

    public void IovaFree(DmaDevice dev, DmaIovaState state)
    {
    }

    private static bool Reachable(DmaDevice dev, ulong address, ulong size) =>
        size != 0 && address <= dev.DmaMask && size - 1 <= dev.DmaMask - address;

    private static void Undo(SgTable sgt, int count)
    {
        for (int i = 0; i < count; i++)
        {
            Scatterlist sg = sgt.Entries[i];
            sg.IsBusAddress = false;
            sg.DmaAddress = default;
            sg.DmaLength = 0;
        }

        sgt.Nents = 0;
    }
}
