using System.IO;
using P2pEmu.Emulator.Topology;
using P2pEmu.Emulator.Topology.Json;
using Xunit;

namespace P2pEmu.Emulator.Tests.Topology.Json;

public sealed class TopologyJsonReaderTests
{
    private const ulong MiB = 1UL << 20;

    [Fact]
    public void Parse_DesignExample_GivesExactRecords()
    {
        TopologyDescription topology = TopologyJsonReader.Parse(TopologySamples.DesignExample);

        Assert.Equal(TopologyDump.Of(TopologySamples.DesignExampleRecords()), TopologyDump.Of(topology));
    }

    [Fact]
    public void Parse_DesignExample_GivesTheDocumentedDevices()
    {
        TopologyDescription topology = TopologyJsonReader.Parse(TopologySamples.DesignExample);

        HostBridgeDescription hb = Assert.Single(topology.HostBridges);
        Assert.Equal(IommuMode.Translate, hb.Iommu);
        Assert.True(hb.RootComplexP2p);
        Assert.Equal(["hostdev", "rp1", "rciep0"], [hb.Devices[0].Name, hb.Devices[1].Name, hb.Devices[2].Name]);
        Assert.Equal([DeviceKind.HostBridge, DeviceKind.RootPort, DeviceKind.Endpoint], [hb.Devices[0].Kind, hb.Devices[1].Kind, hb.Devices[2].Kind]);

        DeviceDescription rp1 = hb.Devices[1];
        Assert.Equal(new PciSlot(1, 0), rp1.Slot);
        Assert.Equal(AcsFlags.RR | AcsFlags.CR, rp1.Acs!.Control);
        Assert.Equal(AcsFlags.All, rp1.Acs.Capability);

        DeviceDescription sw0 = Assert.Single(rp1.Children);
        Assert.Equal("$.hostBridges[0].devices[1].children[0]", sw0.JsonPath);
        Assert.Equal("sw0.up", sw0.Upstream!.Name);
        Assert.Equal("$.hostBridges[0].devices[1].children[0].ports[1]", sw0.Ports[1].JsonPath);
        DeviceDescription nvme0 = Assert.Single(sw0.Ports[0].Children);
        Assert.Equal(64 * MiB, nvme0.CmbBytes);
        Assert.Equal(1UL << 30, Assert.Single(nvme0.Namespaces).SizeBytes);
        Assert.Equal(32 * MiB, Assert.Single(sw0.Ports[1].Children).MemoryBytes);

        DeviceDescription rciep0 = hb.Devices[2];
        Assert.Equal(2, rciep0.Vfs);
        DeviceDescription f1 = Assert.Single(rciep0.Functions);
        Assert.Equal("rciep0.f1", f1.Name);
        Assert.Equal(new PciSlot(4, 1), f1.Slot);
        BarDescription bar = Assert.Single(rciep0.Bars);
        Assert.True(bar.Prefetchable);
        Assert.True(bar.Is64Bit);
        Assert.Equal(16 * MiB, bar.SizeBytes);
    }

    [Fact]
    public void Parse_CommentsAndTrailingCommas_Accepted()
    {
        const string Json = """
            // line comment
            {
              /* block comment */
              "hostBridges": [
                { "name": "hb0", "devices": [ { "name": "ep0", "kind": "endpoint", }, ], }, // trailing
              ],
            }
            """;

        TopologyDescription topology = TopologyJsonReader.Parse(Json);

        Assert.Equal("ep0", Assert.Single(Assert.Single(topology.HostBridges).Devices).Name);
    }

    [Fact]
    public void Parse_MinimalTopology_UsesDefaults()
    {
        TopologyDescription topology = TopologyJsonReader.Parse("""{ "hostBridges": [ {} ] }""");

        Assert.Same(PlatformDescription.Default, topology.Platform);
        HostBridgeDescription hb = Assert.Single(topology.HostBridges);
        Assert.Equal("hb0", hb.Name);
        Assert.Equal(0, hb.Segment);
        Assert.Equal(0, hb.Bus);
        Assert.Equal(IommuMode.Off, hb.Iommu);
        Assert.False(hb.RootComplexP2p);
        Assert.Empty(hb.Devices);
        Assert.Equal("$.hostBridges[0]", hb.JsonPath);
    }

    [Fact]
    public void Parse_PlatformWithoutRam_UsesDefaultRam()
    {
        TopologyDescription topology = TopologyJsonReader.Parse(
            """{ "platform": { "kernel": "revoke-2026" }, "hostBridges": [ {} ] }""");

        Assert.Equal(KernelProfile.Revoke2026, topology.Platform.Kernel);
        Assert.Equal(PlatformDescription.DefaultRamBytes, topology.Platform.RamBytes);
        Assert.Equal(CpuVendor.Intel, topology.Platform.CpuVendor);
    }

    [Fact]
    public void Parse_IommuStrict_IsReadAndWrittenBack_AndIsOffByDefault()
    {
        TopologyDescription strict = TopologyJsonReader.Parse("""{ "platform": { "iommuStrict": true }, "hostBridges": [ {} ] }""");
        TopologyDescription lazy = TopologyJsonReader.Parse("""{ "platform": { "kernel": "6.19" }, "hostBridges": [ {} ] }""");

        Assert.True(strict.Platform.IommuStrict);
        Assert.False(lazy.Platform.IommuStrict);
        Assert.True(TopologyJsonReader.Parse(TopologyJsonWriter.Write(strict)).Platform.IommuStrict);
        Assert.False(TopologyJsonReader.Parse(TopologyJsonWriter.Write(lazy)).Platform.IommuStrict);
    }

    [Fact]
    public void Parse_AmdHexFamilyAndRam_Read()
    {
        TopologyDescription topology = TopologyJsonReader.Parse(
            """{ "platform": { "cpu": { "vendor": "AMD", "family": "0x19" }, "ram": "4GiB" }, "hostBridges": [ {} ] }""");

        Assert.Equal(new PlatformDescription(CpuVendor.Amd, 0x19, KernelProfile.Linux619, 4UL << 30), topology.Platform);
    }

    [Fact]
    public void Parse_EntryDefaults_NoSlotIdsAcsOrExtras()
    {
        DeviceDescription ep = SingleRootDevice("""{ "name": "ep0", "kind": "endpoint" }""");

        Assert.Null(ep.Slot);
        Assert.Null(ep.VendorId);
        Assert.Null(ep.DeviceId);
        Assert.Null(ep.ClassCode);
        Assert.Null(ep.Acs);
        Assert.Empty(ep.Bars);
        Assert.Empty(ep.Functions);
        Assert.Equal(0, ep.Vfs);
    }

    [Fact]
    public void Parse_EmptyAcs_HasEveryCapabilityAndNoControl()
    {
        DeviceDescription rp = SingleRootDevice("""{ "name": "rp0", "kind": "root-port", "acs": {} }""");

        Assert.Equal(new AcsDescription(AcsFlags.All, AcsFlags.None, 0), rp.Acs);
    }

    [Fact]
    public void Parse_AcsHexAndMixedCaseMnemonics_Read()
    {
        DeviceDescription rp = SingleRootDevice(
            """{ "name": "rp0", "kind": "root-port", "acs": { "cap": "0x3d", "ctrl": ["rr", "Cr", "EC"], "egress": "0x5", "egressBits": 8 } }""");

        Assert.Equal(AcsFlags.SV | AcsFlags.RR | AcsFlags.CR | AcsFlags.UF | AcsFlags.EC, rp.Acs!.Capability);
        Assert.Equal(AcsFlags.RR | AcsFlags.CR | AcsFlags.EC, rp.Acs.Control);
        Assert.Equal(5u, rp.Acs.EgressVector);
        Assert.Equal(8, rp.Acs.EgressVectorBits);
    }

    [Fact]
    public void Parse_HexCtrlString_Read()
    {
        DeviceDescription rp = SingleRootDevice("""{ "name": "rp0", "kind": "root-port", "acs": { "ctrl": "0x1d" } }""");

        Assert.Equal(AcsFlags.SV | AcsFlags.RR | AcsFlags.CR | AcsFlags.UF, rp.Acs!.Control);
    }

    [Theory]
    [InlineData("""{ "index": 0, "size": "4KiB" }""", false, false)]
    [InlineData("""{ "index": 0, "size": "4KiB", "prefetchable": true }""", true, true)]
    [InlineData("""{ "index": 0, "size": "4KiB", "prefetchable": true, "bits": 32 }""", true, false)]
    [InlineData("""{ "index": 0, "size": "4KiB", "bits": 64 }""", false, true)]
    public void Parse_BarBits_DefaultFollowsPrefetchable(string bar, bool prefetchable, bool is64Bit)
    {
        DeviceDescription ep = SingleRootDevice($$"""{ "name": "ep0", "kind": "endpoint", "bars": [ {{bar}} ] }""");

        Assert.Equal(new BarDescription(0, 4096, prefetchable, is64Bit), Assert.Single(ep.Bars));
    }

    [Fact]
    public void Parse_BarsAroundA64BitBar_Accepted()
    {
        DeviceDescription ep = SingleRootDevice(
            """
            { "name": "ep0", "kind": "endpoint", "bars": [
              { "index": 0, "size": 128 }, { "index": 1, "size": "1GiB", "bits": 64 },
              { "index": 3, "size": "4KiB", "backing": "/dev/shm/ep0-bar3" }, { "index": 4, "size": "8GiB", "prefetchable": true } ] }
            """);

        Assert.Equal([0, 1, 3, 4], [ep.Bars[0].Index, ep.Bars[1].Index, ep.Bars[2].Index, ep.Bars[3].Index]);
        Assert.Equal("/dev/shm/ep0-bar3", ep.Bars[2].BackingPath);
        Assert.Equal(8UL << 30, ep.Bars[3].SizeBytes);
    }

    [Fact]
    public void Parse_SwitchWithoutUpstream_NamesUpstreamAfterSwitch()
    {
        TopologyDescription topology = TopologyJsonReader.Parse(TopologySamples.BelowRootPort(
            """{ "name": "sw9", "kind": "switch", "ports": [ { "name": "sw9.dp0" } ] }"""));

        DeviceDescription sw = Assert.Single(topology.HostBridges[0].Devices[0].Children);
        Assert.Equal("sw9.up", sw.Upstream!.Name);
        Assert.Equal("$.hostBridges[0].devices[0].children[0].upstream", sw.Upstream.JsonPath);
        Assert.Null(sw.Upstream.Acs);
    }

    [Fact]
    public void Parse_NestedSwitch_PathsFollowPortsAndChildren()
    {
        TopologyDescription topology = TopologyJsonReader.Parse(TopologySamples.BelowRootPort(
            """
            { "name": "sw0", "kind": "switch", "ports": [ { "name": "sw0.dp0" }, { "name": "sw0.dp1", "children": [
              { "name": "sw1", "kind": "switch", "upstream": { "name": "sw1.up", "acs": { "ctrl": ["RR"] } },
                "ports": [ { "name": "sw1.dp0", "children": [ { "name": "gpu0", "kind": "accelerator", "memory": "1GiB" } ] } ] } ] } ] }
            """));

        DeviceDescription sw1 = Assert.Single(topology.HostBridges[0].Devices[0].Children[0].Ports[1].Children);
        DeviceDescription gpu = Assert.Single(sw1.Ports[0].Children);
        Assert.Equal("$.hostBridges[0].devices[0].children[0].ports[1].children[0].ports[0].children[0]", gpu.JsonPath);
        Assert.Equal(AcsFlags.RR, sw1.Upstream!.Acs!.Control);
        Assert.Equal(1UL << 30, gpu.MemoryBytes);
    }

    [Theory]
    [InlineData("accel")]
    [InlineData("ACCEL")]
    [InlineData("accelerator")]
    public void Parse_AcceleratorKindOrAlias_GivesAnAcceleratorWithItsMemory(string kind)
    {
        TopologyDescription topology = TopologyJsonReader.Parse(TopologySamples.BelowRootPort(
            $$"""{ "name": "gpu0", "kind": "{{kind}}", "memory": "64MiB" }"""));

        DeviceDescription gpu = Assert.Single(topology.HostBridges[0].Devices[0].Children);
        Assert.Equal(DeviceKind.Accelerator, gpu.Kind);
        Assert.Equal(64 * MiB, gpu.MemoryBytes);
    }

    [Fact]
    public void Parse_PortExtensions_Read()
    {
        TopologyDescription topology = TopologyJsonReader.Parse(TopologySamples.BelowRootPort(
            """
            { "name": "sw0", "kind": "switch", "vendorId": "0x10b5",
              "upstream": { "name": "u", "secondaryBus": 3, "vendorId": "0x10b5", "deviceId": "0x8747" },
              "ports": [ { "name": "d0", "slot": "08.0", "secondaryBus": "0x04", "deviceId": 4660 } ] }
            """));

        DeviceDescription sw = topology.HostBridges[0].Devices[0].Children[0];
        Assert.Equal((ushort)0x10b5, sw.VendorId);
        Assert.Equal(3, sw.Upstream!.SecondaryBus);
        Assert.Equal((ushort)0x8747, sw.Upstream.DeviceId);
        Assert.Equal(new PciSlot(8, 0), sw.Ports[0].Slot);
        Assert.Equal(4, sw.Ports[0].SecondaryBus);
        Assert.Equal((ushort)0x1234, sw.Ports[0].DeviceId);
    }

    [Fact]
    public void Parse_NumericAndHexIds_Read()
    {
        DeviceDescription ep = SingleRootDevice(
            """{ "name": "ep0", "kind": "endpoint", "vendorId": 32902, "deviceId": "0X0A0b", "classCode": "0x010802" }""");

        Assert.Equal((ushort)0x8086, ep.VendorId);
        Assert.Equal((ushort)0x0a0b, ep.DeviceId);
        Assert.Equal(0x010802u, ep.ClassCode);
    }

    [Fact]
    public void Parse_HostBridgeFirstWithoutSlot_IsAt00()
    {
        DeviceDescription hostdev = SingleRootDevice("""{ "name": "hostdev", "kind": "host-bridge" }""");

        Assert.Equal(new PciSlot(0, 0), hostdev.Slot);
    }

    [Fact]
    public void Parse_RootPortSecondaryBusAndNoChildren_Read()
    {
        DeviceDescription rp = SingleRootDevice("""{ "name": "rp0", "kind": "root-port", "secondaryBus": 5 }""");

        Assert.Equal(5, rp.SecondaryBus);
        Assert.Empty(rp.Children);
    }

    [Fact]
    public void Parse_VfsAfterFunctionsWithFreeSlots_Accepted()
    {
        // PF 04.0 with one extra function: VF routing IDs 04.2 and 04.3; 04.4 and 05.0 stay free.
        TopologyDescription topology = TopologyJsonReader.Parse(TopologySamples.OnRootBus(
            """{ "name": "pf", "kind": "nic", "slot": "04.0", "vfs": 2, "functions": [ { "name": "pf.f1", "kind": "nic", "slot": "04.1", "vfs": 1 } ] }""",
            """{ "name": "other", "kind": "endpoint", "slot": "04.4" }""",
            """{ "name": "next", "kind": "endpoint", "slot": "05.0" }"""));

        DeviceDescription pf = topology.HostBridges[0].Devices[0];
        Assert.Equal(2, pf.Vfs);
        Assert.Equal(1, pf.Functions[0].Vfs);
        Assert.Equal(3, topology.HostBridges[0].Devices.Count);
    }

    [Fact]
    public void Parse_NvmeNamespaces_ReadWithFiles()
    {
        DeviceDescription nvme = SingleRootDevice(
            """{ "name": "nvme0", "kind": "nvme", "namespaces": [ { "size": "1GiB", "file": "/tmp/ns1.img" }, { "size": 4096 }, { "size": 8192, "ram": true } ] }""");

        Assert.Equal(new NamespaceDescription(1UL << 30, "/tmp/ns1.img", "$.hostBridges[0].devices[0].namespaces[0]"), nvme.Namespaces[0]);
        Assert.Equal(new NamespaceDescription(4096, null, "$.hostBridges[0].devices[0].namespaces[1]"), nvme.Namespaces[1]);
        Assert.Equal(new NamespaceDescription(8192, null, "$.hostBridges[0].devices[0].namespaces[2]") { InRam = true }, nvme.Namespaces[2]);
        Assert.Equal(0UL, nvme.CmbBytes);
    }

    [Fact]
    public void Parse_TwoHostBridgesOnDifferentRootBuses_Accepted()
    {
        TopologyDescription topology = TopologyJsonReader.Parse(
            """{ "hostBridges": [ { "name": "a" }, { "name": "b", "bus": "0x80" }, { "name": "c", "segment": 1 } ] }""");

        Assert.Equal([(0, 0), (0, 0x80), (1, 0)], [
            (topology.HostBridges[0].Segment, topology.HostBridges[0].Bus),
            (topology.HostBridges[1].Segment, topology.HostBridges[1].Bus),
            (topology.HostBridges[2].Segment, topology.HostBridges[2].Bus),
        ]);
    }

    [Theory]
    [InlineData("\"512\"", 512UL)]
    [InlineData("512", 512UL)]
    [InlineData("\"16KiB\"", 16UL << 10)]
    [InlineData("\"64MiB\"", 64UL << 20)]
    [InlineData("\"1GiB\"", 1UL << 30)]
    [InlineData("\"3GiB\"", 3UL << 30)]
    [InlineData("\"2TiB\"", 2UL << 40)]
    [InlineData("\"64 MiB\"", 64UL << 20)]
    [InlineData("\"1gib\"", 1UL << 30)]
    [InlineData("\"1536\"", 1536UL)]
    [InlineData("\"16777215TiB\"", 16777215UL << 40)]
    public void Parse_Size_ReadsBinarySuffixesAndPlainBytes(string size, ulong expectedBytes)
    {
        DeviceDescription nic = SingleRootDevice($$"""{ "name": "nic0", "kind": "nic", "memory": {{size}} }""");

        Assert.Equal(expectedBytes, nic.MemoryBytes);
    }

    [Fact]
    public void Load_ExistingFile_ParsesIt()
    {
        string file = Path.Combine(Path.GetTempPath(), $"p2pemu-topology-{System.Guid.NewGuid():N}.jsonc");
        File.WriteAllText(file, TopologySamples.DesignExample);
        try
        {
            TopologyDescription topology = TopologyJsonReader.Load(file);

            Assert.Equal(TopologyDump.Of(TopologySamples.DesignExampleRecords()), TopologyDump.Of(topology));
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static DeviceDescription SingleRootDevice(string device) =>
        Assert.Single(Assert.Single(TopologyJsonReader.Parse(TopologySamples.OnRootBus(device)).HostBridges).Devices);
}
