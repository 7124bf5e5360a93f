namespace P2pEmu.Machine.Scenarios.Workload;

/// <summary>What a fault injection does (docs/scenarios.md, "Faults").</summary>
public enum FaultAction
{
    /// <summary>The provider's P2PDMA state is torn down (<c>pci_p2pdma_release</c>), as when its driver unbinds.</summary>
    RemoveProvider,

    /// <summary>The process holding the vfio device closes it: vfio-pci revokes the device's dma-bufs.</summary>
    RevokeDmabuf,

    /// <summary><c>VFIO_DEVICE_RESET</c> on a device bound to vfio-pci: its dma-bufs are revoked for the reset, then restored.</summary>
    ResetDevice,

    /// <summary>The named ACS control bits of a port are toggled by a config write; the kernel's map-type cache keeps what it had.</summary>
    FlipAcs,
}
