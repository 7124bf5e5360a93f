namespace P2pEmu.Dma.P2pDma;

/// <summary>
/// Linux <c>enum pci_p2pdma_map_type</c>. Compare by name: the kernel's numbering changed when
/// <see cref="None"/> was added.
/// </summary>
public enum PciP2pdmaMapType
{
    /// <summary>Not cached yet; exported routines never return it.</summary>
    Unknown = 0,

    /// <summary>Not a P2P page (<c>pci_p2pdma_state()</c> for ordinary pages).</summary>
    None = 1,

    NotSupported = 2,

    /// <summary>The client uses the provider's PCI bus address; a switch turns the traffic around.</summary>
    BusAddr = 3,

    /// <summary>The traffic goes through the host bridge; the client is given an IOMMU/CPU address.</summary>
    ThruHostBridge = 4,
}
