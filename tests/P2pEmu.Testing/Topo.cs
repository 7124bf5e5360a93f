using System;
using System.Linq;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Testing;

/// <summary>Concise construction of topology descriptions for tests (the same records a topology file yields).</summary>
public static class Topo
{
    public const ulong MiB = 1UL << 20;

    public static TopologyDescription Machine(params HostBridgeDescription[] hostBridges) =>
        new(PlatformDescription.Default with { RamBytes = 64 * MiB }, hostBridges);

    public static HostBridgeDescription HostBridge(string name, params DeviceDescription[] devices) =>
        HostBridge(name, 0, 0, rootComplexP2p: false, devices);

    public static HostBridgeDescription HostBridge(string name, int segment, int bus, bool rootComplexP2p, params DeviceDescription[] devices) =>
        new(name, segment, bus, IommuMode.Off, rootComplexP2p, devices, $"$.hostBridges[{name}]");

    public static DeviceDescription HostDevice(ushort vendorId = 0x8086, ushort deviceId = 0x2020) =>
        new("hostdev", DeviceKind.HostBridge, "$.hostdev") { Slot = new PciSlot(0, 0), VendorId = vendorId, DeviceId = deviceId };

    public static DeviceDescription RootPort(string name, AcsFlags control, params DeviceDescription[] children) =>
        new(name, DeviceKind.RootPort, Path(name)) { Children = children, Acs = Acs(control) };

    public static DeviceDescription RootPort(string name, params DeviceDescription[] children) =>
        new(name, DeviceKind.RootPort, Path(name)) { Children = children };

    public static DeviceDescription Switch(string name, params PortDescription[] ports) =>
        new(name, DeviceKind.Switch, Path(name)) { Ports = ports, Upstream = new PortDescription(name + ".up", null, Array.Empty<DeviceDescription>(), Path(name + ".up")) };

    public static PortDescription Port(string name, params DeviceDescription[] children) =>
        new(name, null, children, Path(name));

    public static PortDescription Port(string name, AcsFlags control, params DeviceDescription[] children) =>
        new(name, Acs(control), children, Path(name));

    public static PortDescription Port(string name, AcsDescription acs, params DeviceDescription[] children) =>
        new(name, acs, children, Path(name));

    /// <summary>An endpoint with one 64-bit prefetchable memory BAR (BAR0).</summary>
    public static DeviceDescription Endpoint(string name, ulong barBytes = MiB) =>
        new(name, DeviceKind.Endpoint, Path(name)) { Bars = new[] { new BarDescription(0, barBytes, true, true) } };

    /// <summary>An endpoint with a 32-bit non-prefetchable BAR0 and a 64-bit prefetchable BAR2.</summary>
    public static DeviceDescription TwoBarEndpoint(string name, ulong bar0Bytes, ulong bar2Bytes) =>
        new(name, DeviceKind.Endpoint, Path(name))
        {
            Bars = new[] { new BarDescription(0, bar0Bytes, false, false), new BarDescription(2, bar2Bytes, true, true) },
        };

    public static DeviceDescription WithFunctions(this DeviceDescription device, params DeviceDescription[] functions) =>
        device with { Functions = functions.Select((f, i) => f with { Slot = new PciSlot(device.Slot?.Device ?? 0, i + 1) }).ToArray() };

    public static DeviceDescription WithAcs(this DeviceDescription device, AcsFlags control) => device with { Acs = Acs(control) };

    public static AcsDescription Acs(AcsFlags control, uint egress = 0) => new(AcsFlags.All, control, egress);

    private static string Path(string name) => "$." + name;
}
