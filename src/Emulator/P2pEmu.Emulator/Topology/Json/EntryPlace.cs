namespace P2pEmu.Emulator.Topology.Json;

/// <summary>Where a device entry sits, which decides the kinds it may have.</summary>
internal enum EntryPlace
{
    /// <summary>Directly in a host bridge's <c>devices</c>: on the root bus.</summary>
    RootBus,

    /// <summary>In a root port's or a switch downstream port's <c>children</c>.</summary>
    BelowPort,

    /// <summary>In another entry's <c>functions</c>.</summary>
    Function,
}
