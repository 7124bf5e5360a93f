namespace P2pEmu.Drivers.Rdma;

/// <summary>
/// Linux <c>struct ib_pd</c>: a protection domain. QPs and memory regions of one PD can be used together only.
/// <see cref="LocalDmaLkey"/> is the PD's local DMA key (<c>pd-&gt;local_dma_lkey</c>): an lkey whose addresses are
/// DMA addresses the ULP mapped itself with <see cref="RdmaDev.IbDmaMapSgtable"/>, for local access only.
/// </summary>
public sealed class IbPd
{
    internal IbPd(RdmaDev device, uint pdn, uint localDmaLkey)
    {
        Device = device;
        Pdn = pdn;
        LocalDmaLkey = localDmaLkey;
    }

    public RdmaDev Device { get; }

    public uint Pdn { get; }

    public uint LocalDmaLkey { get; }

    public override string ToString() => $"pd {Pdn} on {Device.Name}";
}
