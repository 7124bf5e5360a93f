using System;
using System.Collections.Generic;
using System.Linq;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Emulator.Tests.Fabric;

public sealed class EnumerationTests
{
    private static TopologyDescription Nested() => Topo.Machine(Topo.HostBridge("hb0",
        Topo.HostDevice(),
        Topo.RootPort("rp1", Topo.Switch("outer",
            Topo.Port("o0", Topo.Switch("inner", Topo.Port("i0", Topo.TwoBarEndpoint("a", 16 * 1024, 64 * Topo.MiB)), Topo.Port("i1", Topo.Endpoint("b", 4 * Topo.MiB)))),
            Topo.Port("o1", Topo.TwoBarEndpoint("c", 1 * Topo.MiB, 256 * Topo.MiB)),
            Topo.Port("o2"))),
        Topo.RootPort("rp2", Topo.Endpoint("d", 2 * Topo.MiB) with { Vfs = 2 }),
        Topo.TwoBarEndpoint("rciep", 4096, 8 * Topo.MiB)));

    [Fact]
    public void BusNumbers_AreAssignedDepthFirst()
    {
        using PcieFabric fabric = FabricBuilder.Build(Nested());

        var expected = new Dictionary<string, (int Secondary, int Subordinate)>
        {
            ["rp1"] = (1, 7), ["outer.up"] = (2, 7), ["o0"] = (3, 6), ["inner.up"] = (4, 6),
            ["i0"] = (5, 5), ["i1"] = (6, 6), ["o1"] = (7, 7), ["o2"] = (8, 8), ["rp2"] = (9, 9),
        };
        expected["rp1"] = (1, 8);
        expected["outer.up"] = (2, 8);

        foreach ((string name, (int secondary, int subordinate)) in expected)
        {
            var bridge = (PciBridge)fabric[name];
            Assert.Equal((secondary, subordinate), (bridge.SecondaryBusNumber, bridge.SubordinateBusNumber));
            Assert.Equal(bridge.Bus.Number, bridge.PrimaryBusNumber);
        }

        Assert.Equal("05:00.0", fabric["a"].Bdf.ToString());
        Assert.Equal("09:00.0", fabric["d"].Bdf.ToString());
        Assert.Equal("09:00.1", fabric["d.vf1"].Bdf.ToString());
        Assert.Equal("00:03.0", fabric["rciep"].Bdf.ToString());
    }

    [Fact]
    public void Bars_AreAlignedToTheirSize_InsideEveryWindowAbove_AndNeverOverlap()
    {
        using PcieFabric fabric = FabricBuilder.Build(Nested());
        var bars = fabric.Functions.OfType<PciEndpoint>().SelectMany(e => e.Bars).ToList();

        foreach (PciBar bar in bars)
        {
            Assert.True(bar.Decoding, bar.ToString());
            Assert.Equal(0UL, bar.Address % bar.SizeBytes);
            bool inHostWindow = bar.Is64Bit && bar.Prefetchable
                ? bar.Owner.HostBridge.Memory64Window.Contains(bar.Address) && bar.Owner.HostBridge.Memory64Window.Contains(bar.Address + bar.SizeBytes - 1)
                : bar.Owner.HostBridge.Memory32Window.Contains(bar.Address) && bar.Address + bar.SizeBytes <= 1UL << 32;
            Assert.True(inHostWindow, bar.ToString());
            for (PciBridge? up = bar.Owner.UpstreamBridge; up is not null; up = up.UpstreamBridge)
            {
                Assert.True(up.WindowContains(bar.Address) && up.WindowContains(bar.Address + bar.SizeBytes - 1), $"{bar} outside {up.Name}");
            }
        }

        var sorted = bars.OrderBy(b => b.Address).ToList();
        for (int i = 1; i < sorted.Count; i++)
        {
            Assert.True(sorted[i - 1].Address + sorted[i - 1].SizeBytes <= sorted[i].Address, $"{sorted[i - 1]} overlaps {sorted[i]}");
        }
    }

    [Fact]
    public void BridgeWindows_AreMegabyteGranular_NestInTheirParent_AndEmptyWhenNothingIsBelow()
    {
        using PcieFabric fabric = FabricBuilder.Build(Nested());

        foreach (PciBridge bridge in fabric.Functions.OfType<PciBridge>())
        {
            if (bridge.MemoryBase <= bridge.MemoryLimit)
            {
                Assert.Equal(0UL, bridge.MemoryBase % PciConfig.BridgeWindowGranularity);
                Assert.Equal(0UL, (bridge.MemoryLimit + 1) % PciConfig.BridgeWindowGranularity);
                PciBridge? parent = bridge.UpstreamBridge;
                Assert.True(parent is null || (parent.MemoryBase <= bridge.MemoryBase && bridge.MemoryLimit <= parent.MemoryLimit));
            }

            if (bridge.PrefetchableBase <= bridge.PrefetchableLimit)
            {
                PciBridge? parent = bridge.UpstreamBridge;
                Assert.True(parent is null || (parent.PrefetchableBase <= bridge.PrefetchableBase && bridge.PrefetchableLimit <= parent.PrefetchableLimit));
            }
        }

        var empty = (PciBridge)fabric["o2"];
        Assert.True(empty.MemoryBase > empty.MemoryLimit);
        Assert.True(empty.PrefetchableBase > empty.PrefetchableLimit);
        Assert.True(((PciBridge)fabric["o1"]).WindowContains(((PciEndpoint)fabric["c"]).Bars[1].Address));
    }

    [Fact]
    public void Functions_AreListedInKernelOrder_BusByBus_VfsLast()
    {
        using PcieFabric fabric = FabricBuilder.Build(Nested());

        string[] names = fabric.Functions.Select(f => f.Name).ToArray();

        Assert.Equal(
            new[] { "hostdev", "rp1", "rp2", "rciep", "outer.up", "o0", "o1", "o2", "inner.up", "i0", "i1", "a", "b", "c", "d", "d.vf1", "d.vf2" },
            names);
    }

    [Fact]
    public void Build_MoreBridgesThanBusNumbers_ThrowsNamingTheBridge()
    {
        DeviceDescription[] ports = Enumerable.Range(0, 200).Select(i => new DeviceDescription($"rp{i}", DeviceKind.RootPort, $"$.hostBridges[0].devices[{i}]") { Slot = new PciSlot(i % 32, 0) }).ToArray();
        var rootPorts = new List<DeviceDescription>();
        for (int i = 0; i < 32; i++)
        {
            PortDescription[] switchPorts = Enumerable.Range(0, 8).Select(p => new PortDescription($"sw{i}.dp{p}", null, Array.Empty<DeviceDescription>(), $"$.hostBridges[0].devices[{i}].children[0].ports[{p}]")).ToArray();
            DeviceDescription sw = new($"sw{i}", DeviceKind.Switch, $"$.hostBridges[0].devices[{i}].children[0]") { Ports = switchPorts };
            rootPorts.Add(ports[i] with { Children = new[] { sw } });
        }

        TopologyException error = Assert.Throws<TopologyException>(() => FabricBuilder.Build(Topo.Machine(Topo.HostBridge("hb0", rootPorts.ToArray()))));

        Assert.Contains("too many buses", error.Problem, StringComparison.Ordinal);
        Assert.StartsWith("$.hostBridges[0].devices[", error.Path, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_SlotCollision_ThrowsNamingBothEntries()
    {
        DeviceDescription first = Topo.Endpoint("x") with { Slot = new PciSlot(4, 0) };
        DeviceDescription second = Topo.Endpoint("y") with { Slot = new PciSlot(4, 0) };

        TopologyException error = Assert.Throws<TopologyException>(() => FabricBuilder.Build(Topo.Machine(Topo.HostBridge("hb0", first, second))));

        Assert.Equal("$.y", error.Path);
        Assert.Contains("$.x", error.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_Exhausted32BitWindow_Throws()
    {
        DeviceDescription huge = new("big", DeviceKind.Endpoint, "$.big") { Bars = new[] { new BarDescription(0, 2UL << 30, false, false) } };

        TopologyException error = Assert.Throws<TopologyException>(() => FabricBuilder.Build(Topo.Machine(Topo.HostBridge("hb0", Topo.RootPort("rp", huge)))));

        Assert.Contains("32-bit MMIO window is exhausted", error.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_RootPortsAtSeveralFunctionsOfOneSlot_AreOneMultiFunctionDevice()
    {
        DeviceDescription first = Topo.RootPort("rp0", Topo.Endpoint("a")) with { Slot = new PciSlot(0x1C, 0) };
        DeviceDescription fifth = Topo.RootPort("rp4", Topo.Endpoint("b")) with { Slot = new PciSlot(0x1C, 4) };
        DeviceDescription alone = Topo.RootPort("rp5", Topo.Endpoint("c")) with { Slot = new PciSlot(0x1D, 0) };

        using PcieFabric fabric = FabricBuilder.Build(Topo.Machine(Topo.HostBridge("hb0", first, fifth, alone)));

        Assert.Equal("00:1c.4", fabric["rp4"].Bdf.ToString());
        Assert.Equal(PciConfig.HeaderTypeMultiFunction | PciConfig.HeaderTypeBridge, fabric["rp0"].Config.Read8(PciConfig.HeaderType));
        Assert.Equal(PciConfig.HeaderTypeMultiFunction | PciConfig.HeaderTypeBridge, fabric["rp4"].Config.Read8(PciConfig.HeaderType));
        Assert.Equal(PciConfig.HeaderTypeBridge, fabric["rp5"].Config.Read8(PciConfig.HeaderType));
        Assert.Equal(2, ((PciBridge)fabric["rp4"]).SecondaryBusNumber);
    }

    [Fact]
    public void Build_BarBackingThatCannotBeCreated_ThrowsNamingTheBar()
    {
        DeviceDescription ep = new("ep", DeviceKind.Endpoint, "$.hostBridges[0].devices[0].children[0]")
        {
            Bars = new[] { new BarDescription(0, 4096, false, false, "/proc/p2pemu-no-such-dir/bar0") },
        };

        TopologyException error = Assert.Throws<TopologyException>(() => FabricBuilder.Build(Topo.Machine(Topo.HostBridge("hb0", Topo.RootPort("rp", ep)))));

        Assert.Equal("$.hostBridges[0].devices[0].children[0].bars", error.Path);
        Assert.Contains("BAR0 of ep", error.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_BarBackedByAFile_SharesBytesWithTheFile()
    {
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"p2pemu-bar-{Guid.NewGuid():N}");
        DeviceDescription ep = new("ep", DeviceKind.Endpoint, "$.ep") { Bars = new[] { new BarDescription(0, 8192, true, true, path) } };
        try
        {
            using (PcieFabric fabric = FabricBuilder.Build(Topo.Machine(Topo.HostBridge("hb0", 0, 0, true, Topo.RootPort("rp", ep), Topo.RootPort("rp2", Topo.Endpoint("peer"))))))
            {
                PciBar bar = ((PciEndpoint)fabric["ep"]).Bars[0];
                Assert.Equal(path, bar.Memory!.BackingPath);
                Assert.True(new DmaPort(fabric, fabric["peer"]).Write(new P2pEmu.Emulator.Addressing.DmaAddress(bar.Address + 100), new byte[] { 0x5A, 0x5A, 0x5A }).IsSuccess);
            }

            byte[] file = System.IO.File.ReadAllBytes(path);
            Assert.Equal(8192, file.Length);
            Assert.Equal(new byte[] { 0x5A, 0x5A, 0x5A }, file.AsSpan(100, 3).ToArray());
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }
}
