using System.Collections.Generic;

namespace P2pEmu.Emulator.Topology.Json;

/// <summary>The topology file's spellings of enum values, shared by the reader and the writer.</summary>
internal static class TopologyJsonNames
{
    /// <summary><c>kind</c> values: each kind's one spelling, which the writer uses.</summary>
    public static KeyValuePair<string, DeviceKind>[] Kinds { get; } =
    [
        new("host-bridge", DeviceKind.HostBridge),
        new("root-port", DeviceKind.RootPort),
        new("switch", DeviceKind.Switch),
        new("endpoint", DeviceKind.Endpoint),
        new("nvme", DeviceKind.Nvme),
        new("nic", DeviceKind.Nic),
        new("accelerator", DeviceKind.Accelerator),
    ];

    /// <summary>
    /// <c>kind</c> values the reader accepts: <see cref="Kinds"/> followed by short aliases (<c>accel</c>). The writer
    /// never emits an alias, so a file written back names the kind by its canonical spelling.
    /// </summary>
    public static KeyValuePair<string, DeviceKind>[] KindsAccepted { get; } =
    [
        .. Kinds,
        new("accel", DeviceKind.Accelerator),
    ];

    /// <summary><c>iommu</c> values.</summary>
    public static KeyValuePair<string, IommuMode>[] IommuModes { get; } =
    [
        new("off", IommuMode.Off),
        new("passthrough", IommuMode.Passthrough),
        new("translate", IommuMode.Translate),
    ];

    /// <summary><c>platform.cpu.vendor</c> values.</summary>
    public static KeyValuePair<string, CpuVendor>[] CpuVendors { get; } =
    [
        new("intel", CpuVendor.Intel),
        new("amd", CpuVendor.Amd),
        new("hygon", CpuVendor.Hygon),
        new("other", CpuVendor.Other),
    ];

    /// <summary><c>platform.kernel</c> values.</summary>
    public static KeyValuePair<string, KernelProfile>[] Kernels { get; } =
    [
        new("6.19", KernelProfile.Linux619),
        new("revoke-2026", KernelProfile.Revoke2026),
    ];

    /// <summary>The file's spelling of <paramref name="kind"/>.</summary>
    public static string KindText(DeviceKind kind) => JsonValues.EnumText(Kinds, kind);
}
