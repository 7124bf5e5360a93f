namespace P2pEmu.Emulator.Topology;

/// <summary>The topology's <c>kind</c> values.</summary>
public enum DeviceKind
{
    /// <summary>A function at 00.0 of the root bus that identifies the platform (the P2PDMA allow list reads it).</summary>
    HostBridge,
    RootPort,

    /// <summary>A switch: an upstream port and downstream ports (<see cref="DeviceDescription.Ports"/>).</summary>
    Switch,

    /// <summary>A generic endpoint with the BARs its description lists.</summary>
    Endpoint,
    Nvme,
    Nic,
    Accelerator,
}
