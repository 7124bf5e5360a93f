namespace P2pEmu.Machine.Scenarios.Workload;

/// <summary>How a scenario's transfer moves its bytes (docs/scenarios.md, "Path kinds").</summary>
public enum TransferKind
{
    /// <summary>A device's DMA engine writes host RAM or a provider's p2pmem, at the address the DMA API gives it.</summary>
    Dma,

    /// <summary>Kernel bios between a drive and host pages or p2pmem (as the NVMe-oF target uses p2pmem), at a queue depth.</summary>
    Storage,

    /// <summary>A process's O_DIRECT reads or writes between a drive and its own memory: anonymous, or p2pmem mapped through <c>allocate</c>.</summary>
    Pgmap,

    /// <summary>RDMA WRITEs from a NIC across its link into host RAM or p2pmem registered at the far NIC.</summary>
    Rdma,

    /// <summary>RDMA WRITEs from a NIC into an accelerator's memory, exported by vfio-pci and imported by the far NIC.</summary>
    Dmabuf,
}
