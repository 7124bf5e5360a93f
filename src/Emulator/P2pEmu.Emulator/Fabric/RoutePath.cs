namespace P2pEmu.Emulator.Fabric;

/// <summary>The way a delivered transaction went. Values index the fabric's byte counters.</summary>
public enum RoutePath : byte
{
    /// <summary>Not delivered.</summary>
    None,

    /// <summary>Between functions of one multi-function device, without leaving the device.</summary>
    MultiFunctionPeer,

    /// <summary>Turned around inside a switch, straight to a sibling downstream port: never reached the root complex.</summary>
    SwitchPeer,

    /// <summary>Up to the root complex and into host RAM.</summary>
    HostMemory,

    /// <summary>Up to the root complex and back down to a BAR (same root port, another one, or another host bridge).</summary>
    RootComplexPeer,

    /// <summary>Up to the root complex and into the host's interrupt controller: a write to the x86 MSI window.</summary>
    Interrupt,
}
