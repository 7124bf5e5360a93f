using System;
using System.Collections.Generic;

namespace P2pEmu.Emulator.Pci;

/// <summary>How a device model presents itself in config space: IDs, class code, BARs, MSI-X, and its VFs' layout.</summary>
public sealed record EndpointIdentity(ushort VendorId, ushort DeviceId, uint ClassCode, IReadOnlyList<BarSpec> Bars)
{
    /// <summary>The SR-IOV VF Device ID.</summary>
    public ushort VfDeviceId { get; init; }

    /// <summary>The MSI-X capability of the PF (or ordinary function); null for none. VFs get no MSI-X capability.</summary>
    public MsiXSpec? MsiX { get; init; }

    /// <summary>Per-VF BARs (each VF gets its own memory of these sizes).</summary>
    public IReadOnlyList<BarSpec> VfBars { get; init; } = Array.Empty<BarSpec>();
}
