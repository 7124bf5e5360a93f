namespace P2pEmu.Dma.P2pDma;

/// <summary>
/// Linux <c>struct pci_p2pdma_map_state</c>: what a mapping loop remembers about the last P2P page it saw,
/// so a run of pages from one provider costs one map-type lookup.
/// </summary>
public sealed class PciP2pdmaMapState
{
    /// <summary>The provider of the last P2P page seen; null before the first.</summary>
    public P2pProvider? Provider { get; internal set; }

    /// <summary>The map type for that provider and the mapping device.</summary>
    public PciP2pdmaMapType MapType { get; internal set; } = PciP2pdmaMapType.Unknown;
}
