namespace P2pEmu.Emulator.Fabric;

/// <summary>How a memory transaction ended.</summary>
public enum RouteStatus : byte
{
    /// <summary>A completer claimed it (host RAM or a BAR).</summary>
    Delivered,

    /// <summary>Nothing claimed the address, or a port would not forward it (PCIe Unsupported Request).</summary>
    UnsupportedRequest,

    /// <summary>An ACS check blocked it (ACS Violation, completed with Completer Abort).</summary>
    AcsViolation,

    /// <summary>The IOMMU could not translate it; the IOMMU keeps the fault record.</summary>
    IommuFault,

    /// <summary>The requester's Bus Master Enable is clear: it may not issue memory requests.</summary>
    BusMasterDisabled,
}
