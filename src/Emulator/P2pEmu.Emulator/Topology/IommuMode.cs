namespace P2pEmu.Emulator.Topology;

/// <summary>A host bridge's IOMMU mode (topology <c>iommu</c>).</summary>
public enum IommuMode
{
    Off,
    Passthrough,
    Translate,
}
