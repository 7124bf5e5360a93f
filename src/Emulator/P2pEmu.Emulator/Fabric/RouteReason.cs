namespace P2pEmu.Emulator.Fabric;

/// <summary>Why a transaction went where it went (the deciding rule).</summary>
public enum RouteReason : byte
{
    None,

    /// <summary>The address fell in a sibling function's BAR inside the device.</summary>
    MultiFunctionBar,

    /// <summary>The address fell in a sibling downstream port's window.</summary>
    PeerWindow,

    /// <summary>Direct Translated P2P let a translated request go peer to peer despite redirect.</summary>
    DirectTranslated,

    /// <summary>Reached host RAM at the root complex.</summary>
    HostMemory,

    /// <summary>The root complex sent it back down the root port it came from.</summary>
    RootComplexHairpin,

    /// <summary>The root complex forwarded it to another root port or host bridge (platform allows it).</summary>
    RootComplexForward,

    /// <summary>The requester's Bus Master Enable is clear.</summary>
    RequesterBusMasterDisabled,

    /// <summary>A bridge on the way up has Bus Master Enable clear, so it forwards nothing upstream.</summary>
    BridgeBusMasterDisabled,

    /// <summary>ACS Source Validation: the requester ID's bus is not below the ingress port.</summary>
    AcsSourceValidation,

    /// <summary>ACS Translation Blocking: a translated request at a port that blocks them.</summary>
    AcsTranslationBlocking,

    /// <summary>ACS P2P Egress Control: the egress vector blocks the target port or function.</summary>
    AcsEgressBlocked,

    /// <summary>The address belongs below the ingress port itself and ACS Upstream Forwarding is off.</summary>
    NoUpstreamForwarding,

    /// <summary>The root complex does not forward between root ports (or host bridges) on this platform.</summary>
    NoRootComplexP2p,

    /// <summary>The IOMMU refused the translation.</summary>
    IommuFault,

    /// <summary>No BAR, window or RAM claims the address.</summary>
    Unclaimed,

    /// <summary>A write to the x86 MSI window (0xFEE0_0000–0xFEEF_FFFF): an interrupt message, never translated.</summary>
    MsiWindow,
}
