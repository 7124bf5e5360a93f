using P2pEmu.Emulator.Topology;

namespace P2pEmu.Emulator.Tests.Topology.Json;

/// <summary>The DESIGN.md example, the records it must produce, and small builders for test documents.</summary>
internal static class TopologySamples
{
    /// <summary>The "Topology file" example of DESIGN.md, verbatim.</summary>
    public const string DesignExample = """
        {
          "platform": {
            "cpu": { "vendor": "intel", "family": 6 },   // AMD family >= 0x17 allows host-bridge P2P (Linux rule)
            "kernel": "6.19"                              // or "revoke-2026"
          },
          "hostBridges": [
            {
              "name": "hb0",
              "segment": 0, "bus": 0,                     // PCI domain and root bus number
              "iommu": "translate",                       // "off" | "passthrough" | "translate"
              "rootComplexP2p": true,                     // hardware: can the root complex forward between root ports
              "devices": [                                // functions on the root bus, in kernel list order
                { "name": "hostdev", "kind": "host-bridge", "slot": "00.0", "vendorId": "0x8086", "deviceId": "0x2020" },
                { "name": "rp1", "kind": "root-port", "slot": "01.0", "acs": { "ctrl": ["RR", "CR"] },
                  "children": [
                    { "name": "sw0", "kind": "switch",
                      "upstream": { "name": "sw0.up" },
                      "ports": [
                        { "name": "sw0.dp0", "acs": { "ctrl": [] },
                          "children": [ { "name": "nvme0", "kind": "nvme", "cmb": { "size": "64MiB" },
                                          "namespaces": [ { "size": "1GiB" } ] } ] },
                        { "name": "sw0.dp1",
                          "children": [ { "name": "nic0", "kind": "nic", "memory": "32MiB" } ] }
                      ] }
                  ] },
                { "name": "rciep0", "kind": "endpoint", "slot": "04.0",
                  "bars": [ { "index": 0, "size": "16MiB", "prefetchable": true } ],
                  "functions": [ { "name": "rciep0.f1", "kind": "endpoint", "slot": "04.1" } ],
                  "vfs": 2 }                               // SR-IOV VFs, named "<pf>.vf1", "<pf>.vf2", ...
              ]
            }
          ]
        }
        """;

    private const ulong MiB = 1UL << 20;
    private const ulong GiB = 1UL << 30;

    /// <summary>A topology with one host bridge "hb0" whose root bus holds <paramref name="devices"/> (JSON objects).</summary>
    public static string OnRootBus(params string[] devices) =>
        $$"""{ "hostBridges": [ { "name": "hb0", "devices": [ {{string.Join(",\n", devices)}} ] } ] }""";

    /// <summary>
    /// A topology with a root port "rp0" at 01.0 whose children are <paramref name="children"/>; their
    /// paths are $.hostBridges[0].devices[0].children[i].
    /// </summary>
    public static string BelowRootPort(params string[] children) =>
        OnRootBus($$"""{ "name": "rp0", "kind": "root-port", "slot": "01.0", "children": [ {{string.Join(",\n", children)}} ] }""");

    /// <summary>The records the DESIGN.md example must produce, written out by hand.</summary>
    public static TopologyDescription DesignExampleRecords()
    {
        const string Hb = "$.hostBridges[0]";
        const string Sw = Hb + ".devices[1].children[0]";
        var nvme = new DeviceDescription("nvme0", DeviceKind.Nvme, Sw + ".ports[0].children[0]")
        {
            CmbBytes = 64 * MiB,
            Namespaces = [new NamespaceDescription(1 * GiB, null, Sw + ".ports[0].children[0].namespaces[0]")],
        };
        var nic = new DeviceDescription("nic0", DeviceKind.Nic, Sw + ".ports[1].children[0]") { MemoryBytes = 32 * MiB };
        var sw = new DeviceDescription("sw0", DeviceKind.Switch, Sw)
        {
            Upstream = new PortDescription("sw0.up", null, [], Sw + ".upstream"),
            Ports =
            [
                new PortDescription("sw0.dp0", new AcsDescription(AcsFlags.All, AcsFlags.None, 0), [nvme], Sw + ".ports[0]"),
                new PortDescription("sw0.dp1", null, [nic], Sw + ".ports[1]"),
            ],
        };
        DeviceDescription[] devices =
        [
            new DeviceDescription("hostdev", DeviceKind.HostBridge, Hb + ".devices[0]")
            {
                Slot = new PciSlot(0, 0),
                VendorId = 0x8086,
                DeviceId = 0x2020,
            },
            new DeviceDescription("rp1", DeviceKind.RootPort, Hb + ".devices[1]")
            {
                Slot = new PciSlot(1, 0),
                Acs = new AcsDescription(AcsFlags.All, AcsFlags.RR | AcsFlags.CR, 0),
                Children = [sw],
            },
            new DeviceDescription("rciep0", DeviceKind.Endpoint, Hb + ".devices[2]")
            {
                Slot = new PciSlot(4, 0),
                Bars = [new BarDescription(0, 16 * MiB, Prefetchable: true, Is64Bit: true)],
                Functions = [new DeviceDescription("rciep0.f1", DeviceKind.Endpoint, Hb + ".devices[2].functions[0]") { Slot = new PciSlot(4, 1) }],
                Vfs = 2,
            },
        ];
        return new TopologyDescription(
            new PlatformDescription(CpuVendor.Intel, 6, KernelProfile.Linux619, PlatformDescription.DefaultRamBytes),
            [new HostBridgeDescription("hb0", 0, 0, IommuMode.Translate, true, devices, Hb)]);
    }

    /// <summary>
    /// The records of the built-in default: the DESIGN.md example with the RDMA devices added — nic0 cabled to nic1
    /// under a new root port rp2 (slot 02.0), accel0 on a third switch port, and nvme1 under rp3 (slot 03.0).
    /// </summary>
    public static TopologyDescription DefaultRecords()
    {
        const string Hb = "$.hostBridges[0]";
        const string Sw = Hb + ".devices[1].children[0]";
        TopologyDescription design = DesignExampleRecords();
        HostBridgeDescription hb = design.HostBridges[0];
        DeviceDescription rp1 = hb.Devices[1];
        DeviceDescription sw = rp1.Children[0];
        DeviceDescription nic0 = sw.Ports[1].Children[0] with { Link = "nic1" };
        var accel = new DeviceDescription("accel0", DeviceKind.Accelerator, Sw + ".ports[2].children[0]") { MemoryBytes = 64 * MiB };
        sw = sw with
        {
            Ports =
            [
                sw.Ports[0],
                sw.Ports[1] with { Children = [nic0] },
                new PortDescription("sw0.dp2", null, [accel], Sw + ".ports[2]"),
            ],
        };
        var rp2 = new DeviceDescription("rp2", DeviceKind.RootPort, Hb + ".devices[2]")
        {
            Slot = new PciSlot(2, 0),
            Children = [new DeviceDescription("nic1", DeviceKind.Nic, Hb + ".devices[2].children[0]") { MemoryBytes = 32 * MiB }],
        };
        var rp3 = new DeviceDescription("rp3", DeviceKind.RootPort, Hb + ".devices[3]")
        {
            Slot = new PciSlot(3, 0),
            Children =
            [
                new DeviceDescription("nvme1", DeviceKind.Nvme, Hb + ".devices[3].children[0]")
                {
                    CmbBytes = 64 * MiB,
                    Namespaces = [new NamespaceDescription(1 * GiB, null, Hb + ".devices[3].children[0].namespaces[0]")],
                },
            ],
        };
        DeviceDescription rciep = hb.Devices[2] with
        {
            JsonPath = Hb + ".devices[4]",
            Functions = [hb.Devices[2].Functions[0] with { JsonPath = Hb + ".devices[4].functions[0]" }],
        };
        return design with { HostBridges = [hb with { Devices = [hb.Devices[0], rp1 with { Children = [sw] }, rp2, rp3, rciep] }, NotAllowListedHostBridge()] };
    }

    /// <summary>hb1 of the default: a Broadwell-EP root complex (not on the allow list) with two drives behind an ACS-redirecting switch.</summary>
    private static HostBridgeDescription NotAllowListedHostBridge()
    {
        const string Hb = "$.hostBridges[1]";
        const string Sw = Hb + ".devices[1].children[0]";
        var redirect = new AcsDescription(AcsFlags.All, AcsFlags.RR | AcsFlags.CR, 0);
        DeviceDescription Drive(string name, int port) => new(name, DeviceKind.Nvme, Sw + $".ports[{port}].children[0]")
        {
            CmbBytes = 16 * MiB,
            Namespaces = [new NamespaceDescription(64 * MiB, null, Sw + $".ports[{port}].children[0].namespaces[0]")],
        };
        var sw = new DeviceDescription("sw1", DeviceKind.Switch, Sw)
        {
            Upstream = new PortDescription("sw1.up", null, [], Sw + ".upstream"),
            Ports =
            [
                new PortDescription("sw1.dp0", redirect, [Drive("nvme2", 0)], Sw + ".ports[0]"),
                new PortDescription("sw1.dp1", redirect, [Drive("nvme3", 1)], Sw + ".ports[1]"),
            ],
        };
        DeviceDescription[] devices =
        [
            new DeviceDescription("hostdev1", DeviceKind.HostBridge, Hb + ".devices[0]") { Slot = new PciSlot(0, 0), VendorId = 0x8086, DeviceId = 0x6f00 },
            new DeviceDescription("rp4", DeviceKind.RootPort, Hb + ".devices[1]") { Slot = new PciSlot(1, 0), Children = [sw] },
        ];
        return new HostBridgeDescription("hb1", 0, 0x80, IommuMode.Translate, true, devices, Hb);
    }
}
