using System;
using System.IO;
using P2pEmu.Emulator.Topology;
using P2pEmu.Emulator.Topology.Json;
using Xunit;

namespace P2pEmu.Emulator.Tests.Topology.Json;

/// <summary>One test per kind of bad input: the exact JSON path, and a problem that names the offending thing.</summary>
public sealed class TopologyJsonReaderErrorTests
{
    private const string Dev0 = "$.hostBridges[0].devices[0]";
    private const string Dev1 = "$.hostBridges[0].devices[1]";
    private const string Child0 = "$.hostBridges[0].devices[0].children[0]";

    [Fact]
    public void Parse_SyntaxError_ReportsRootPathWithLineAndByte()
    {
        TopologyException ex = Fails("{\n  \"hostBridges\": [\n    }\n");

        Assert.Equal("$", ex.Path);
        Assert.Contains("not valid JSON at line 3, byte 5", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_IommuStrictNotABoolean_NamesItsPath()
    {
        TopologyException ex = Fails("""{ "platform": { "iommuStrict": "yes" }, "hostBridges": [ {} ] }""");

        Assert.Equal("$.platform.iommuStrict", ex.Path);
    }

    [Fact]
    public void Parse_EmptyText_ReportsNotJson()
    {
        TopologyException ex = Fails(string.Empty);

        Assert.Equal("$", ex.Path);
        Assert.Contains("not valid JSON", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_RootIsArray_ReportsRoot()
    {
        TopologyException ex = Fails("[]");

        Assert.Equal("$", ex.Path);
        Assert.Contains("must be an object, not an array", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnknownDeviceProperty_NamesIt()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "ep0", "kind": "endpoint", "sizee": 1 }"""));

        Assert.Equal(Dev0 + ".sizee", ex.Path);
        Assert.Contains("unknown property 'sizee'", ex.Problem, StringComparison.Ordinal);
        Assert.Equal($"{Dev0}.sizee: {ex.Problem}", ex.Message);
    }

    [Fact]
    public void Parse_MiscasedRootProperty_SuggestsTheRightOne()
    {
        TopologyException ex = Fails("""{ "hostbridges": [] }""");

        Assert.Equal("$.hostbridges", ex.Path);
        Assert.Contains("did you mean 'hostBridges'?", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_PropertyNameNeedingQuotes_PathUsesBrackets()
    {
        TopologyException ex = Fails("""{ "hostBridges": [ { "my prop": 1 } ] }""");

        Assert.Equal("$.hostBridges[0]['my prop']", ex.Path);
        Assert.Contains("'my prop'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DuplicateJsonProperty_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "ep0", "name": "ep1", "kind": "endpoint" }"""));

        Assert.Equal(Dev0 + ".name", ex.Path);
        Assert.Contains("duplicate property 'name'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NameIsNumber_ReportsWrongType()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": 5, "kind": "endpoint" }"""));

        Assert.Equal(Dev0 + ".name", ex.Path);
        Assert.Contains("'name' must be a string, not a number", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NameIsNull_ReportsWrongType()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": null, "kind": "endpoint" }"""));

        Assert.Equal(Dev0 + ".name", ex.Path);
        Assert.Contains("not null", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NameWithSpace_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "my ep", "kind": "endpoint" }"""));

        Assert.Equal(Dev0 + ".name", ex.Path);
        Assert.Contains("'my ep'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MissingName_ReportsEntry()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "kind": "endpoint" }"""));

        Assert.Equal(Dev0, ex.Path);
        Assert.Contains("missing required property 'name'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MissingKind_ListsKinds()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "ep0" }"""));

        Assert.Equal(Dev0, ex.Path);
        Assert.Contains("missing required property 'kind'", ex.Problem, StringComparison.Ordinal);
        Assert.Contains("accelerator", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MissingHostBridges_ReportsRoot()
    {
        TopologyException ex = Fails("""{ "platform": {} }""");

        Assert.Equal("$", ex.Path);
        Assert.Contains("'hostBridges'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_EmptyHostBridges_Rejected()
    {
        TopologyException ex = Fails("""{ "hostBridges": [] }""");

        Assert.Equal("$.hostBridges", ex.Path);
        Assert.Contains("at least one host bridge", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DevicesNotArray_ReportsWrongType()
    {
        TopologyException ex = Fails("""{ "hostBridges": [ { "devices": {} } ] }""");

        Assert.Equal("$.hostBridges[0].devices", ex.Path);
        Assert.Contains("'devices' must be an array, not an object", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnknownKind_ListsAllowedKinds()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "sw0", "kind": "swtich" }"""));

        Assert.Equal(Dev0 + ".kind", ex.Path);
        Assert.Contains("\"swtich\"", ex.Problem, StringComparison.Ordinal);
        Assert.Contains("\"host-bridge\", \"root-port\", \"switch\", \"endpoint\", \"nvme\", \"nic\", \"accelerator\"", ex.Problem, StringComparison.Ordinal);
        Assert.Contains("\"accel\"", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_AccelAliasWithNvmeProperty_NamesTheKindByItsCanonicalSpelling()
    {
        TopologyException ex = Fails(TopologySamples.BelowRootPort("""{ "name": "gpu0", "kind": "accel", "cmb": { "size": "1MiB" } }"""));

        Assert.Contains("an accelerator", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnknownIommuMode_ListsModes()
    {
        TopologyException ex = Fails("""{ "hostBridges": [ { "iommu": "on" } ] }""");

        Assert.Equal("$.hostBridges[0].iommu", ex.Path);
        Assert.Contains("\"on\"", ex.Problem, StringComparison.Ordinal);
        Assert.Contains("\"off\", \"passthrough\", \"translate\"", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnknownCpuVendor_ListsVendors()
    {
        TopologyException ex = Fails("""{ "platform": { "cpu": { "vendor": "arm", "family": 8 } }, "hostBridges": [ {} ] }""");

        Assert.Equal("$.platform.cpu.vendor", ex.Path);
        Assert.Contains("\"arm\"", ex.Problem, StringComparison.Ordinal);
        Assert.Contains("\"intel\", \"amd\", \"hygon\", \"other\"", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_KernelAsNumber_ListsProfiles()
    {
        TopologyException ex = Fails("""{ "platform": { "kernel": 6.19 }, "hostBridges": [ {} ] }""");

        Assert.Equal("$.platform.kernel", ex.Path);
        Assert.Contains("\"6.19\", \"revoke-2026\"", ex.Problem, StringComparison.Ordinal);
        Assert.Contains("not a number", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_CpuWithoutFamily_ReportsCpu()
    {
        TopologyException ex = Fails("""{ "platform": { "cpu": { "vendor": "amd" } }, "hostBridges": [ {} ] }""");

        Assert.Equal("$.platform.cpu", ex.Path);
        Assert.Contains("'family'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_CpuFamilyOutOfRange_Rejected()
    {
        TopologyException ex = Fails("""{ "platform": { "cpu": { "vendor": "amd", "family": "0x1000" } }, "hostBridges": [ {} ] }""");

        Assert.Equal("$.platform.cpu.family", ex.Path);
        Assert.Contains("\"0x1000\"", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BoolAsString_ReportsWrongType()
    {
        TopologyException ex = Fails("""{ "hostBridges": [ { "rootComplexP2p": "yes" } ] }""");

        Assert.Equal("$.hostBridges[0].rootComplexP2p", ex.Path);
        Assert.Contains("true or false, not a string", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DuplicateDeviceName_NamesFirstUse()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            """{ "name": "ep0", "kind": "endpoint" }""",
            """{ "name": "ep0", "kind": "nic" }"""));

        Assert.Equal(Dev1 + ".name", ex.Path);
        Assert.Contains("duplicate name 'ep0'", ex.Problem, StringComparison.Ordinal);
        Assert.Contains(Dev0 + ".name", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DeviceNamedLikeHostBridge_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "hb0", "kind": "endpoint" }"""));

        Assert.Equal(Dev0 + ".name", ex.Path);
        Assert.Contains("$.hostBridges[0].name", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_PortNamedLikeDevice_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.BelowRootPort(
            """{ "name": "sw0", "kind": "switch", "ports": [ { "name": "rp0" } ] }"""));

        Assert.Equal(Child0 + ".ports[0].name", ex.Path);
        Assert.Contains("duplicate name 'rp0'", ex.Problem, StringComparison.Ordinal);
        Assert.Contains(Dev0 + ".name", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DefaultUpstreamNameTaken_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.BelowRootPort(
            """{ "name": "sw0.up", "kind": "endpoint" }""",
            """{ "name": "sw0", "kind": "switch", "ports": [ { "name": "sw0.dp0" } ] }"""));

        Assert.Equal("$.hostBridges[0].devices[0].children[1]", ex.Path);
        Assert.Contains("'sw0.up'", ex.Problem, StringComparison.Ordinal);
        Assert.Contains(Child0 + ".name", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UpstreamNamedLikeDownstream_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.BelowRootPort(
            """{ "name": "sw0", "kind": "switch", "upstream": { "name": "p" }, "ports": [ { "name": "p" } ] }"""));

        Assert.Equal(Child0 + ".ports[0].name", ex.Path);
        Assert.Contains(Child0 + ".upstream.name", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ExtraFunctionNamedLikeDevice_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            """{ "name": "ep0", "kind": "endpoint", "functions": [ { "name": "ep0", "kind": "endpoint" } ] }"""));

        Assert.Equal(Dev0 + ".functions[0].name", ex.Path);
        Assert.Contains("duplicate name 'ep0'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DeviceNamedLikeEarlierVf_NamesTheVf()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            """{ "name": "ep0", "kind": "endpoint", "vfs": 2 }""",
            """{ "name": "ep0.vf2", "kind": "endpoint" }"""));

        Assert.Equal(Dev1 + ".name", ex.Path);
        Assert.Contains("'ep0.vf2'", ex.Problem, StringComparison.Ordinal);
        Assert.Contains("VF 2 of 'ep0'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_VfNameTakenByEarlierDevice_ReportsVfs()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            """{ "name": "ep0.vf1", "kind": "endpoint" }""",
            """{ "name": "ep0", "kind": "endpoint", "vfs": 1 }"""));

        Assert.Equal(Dev1 + ".vfs", ex.Path);
        Assert.Contains("'ep0.vf1'", ex.Problem, StringComparison.Ordinal);
        Assert.Contains(Dev0 + ".name", ex.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"64MB\"", "'MB'")]
    [InlineData("\"64M\"", "'M'")]
    [InlineData("\"1GB\"", "'GB'")]
    [InlineData("\"0\"", "\"0\"")]
    [InlineData("\"0MiB\"", "\"0MiB\"")]
    [InlineData("\"1.5GiB\"", "\"1.5GiB\"")]
    [InlineData("\"-1\"", "\"-1\"")]
    [InlineData("\"big\"", "\"big\"")]
    [InlineData("\"\"", "\"\"")]
    [InlineData("\"16777216TiB\"", "\"16777216TiB\"")]
    [InlineData("\"99999999999999999999\"", "\"99999999999999999999\"")]
    [InlineData("0", "got 0")]
    [InlineData("-4096", "got -4096")]
    [InlineData("1.5", "got 1.5")]
    [InlineData("true", "a boolean")]
    public void Parse_BadSize_ReportsTheValue(string size, string mentioned)
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus($$"""{ "name": "nic0", "kind": "nic", "memory": {{size}} }"""));

        Assert.Equal(Dev0 + ".memory", ex.Path);
        Assert.Contains(mentioned, ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DecimalSuffix_SaysWhichSuffixesWork()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "nic0", "kind": "nic", "memory": "32MB" }"""));

        Assert.Contains("KiB, MiB, GiB or TiB", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SwitchWithoutPorts_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.BelowRootPort("""{ "name": "sw0", "kind": "switch" }"""));

        Assert.Equal(Child0, ex.Path);
        Assert.Contains("'ports'", ex.Problem, StringComparison.Ordinal);
        Assert.Contains("'sw0'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SwitchWithEmptyPorts_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.BelowRootPort("""{ "name": "sw0", "kind": "switch", "ports": [] }"""));

        Assert.Equal(Child0 + ".ports", ex.Path);
        Assert.Contains("at least one downstream port", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ChildrenUnderEndpoint_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            """{ "name": "ep0", "kind": "endpoint", "children": [ { "name": "ep1", "kind": "endpoint" } ] }"""));

        Assert.Equal(Dev0 + ".children", ex.Path);
        Assert.Contains("'ep0' is an endpoint", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ChildrenDirectlyOnSwitch_PointsToPorts()
    {
        TopologyException ex = Fails(TopologySamples.BelowRootPort(
            """{ "name": "sw0", "kind": "switch", "ports": [ { "name": "d" } ], "children": [] }"""));

        Assert.Equal(Child0 + ".children", ex.Path);
        Assert.Contains("'ports'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_PortsOnRootPort_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "rp0", "kind": "root-port", "ports": [] }"""));

        Assert.Equal(Dev0 + ".ports", ex.Path);
        Assert.Contains("only allowed on a switch", ex.Problem, StringComparison.Ordinal);
        Assert.Contains("'rp0' is a root-port", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UpstreamOnNic_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "nic0", "kind": "nic", "upstream": { "name": "u" } }"""));

        Assert.Equal(Dev0 + ".upstream", ex.Path);
        Assert.Contains("'nic0' is a nic", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_CmbOnNic_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "nic0", "kind": "nic", "cmb": { "size": "1MiB" } }"""));

        Assert.Equal(Dev0 + ".cmb", ex.Path);
        Assert.Contains("only allowed on an nvme", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MemoryOnEndpoint_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "ep0", "kind": "endpoint", "memory": "1MiB" }"""));

        Assert.Equal(Dev0 + ".memory", ex.Path);
        Assert.Contains("'ep0' is an endpoint", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BarsOnNvme_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "nvme0", "kind": "nvme", "bars": [] }"""));

        Assert.Equal(Dev0 + ".bars", ex.Path);
        Assert.Contains("'nvme0' is an nvme", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_VfsOnRootPort_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "rp0", "kind": "root-port", "vfs": 1 }"""));

        Assert.Equal(Dev0 + ".vfs", ex.Path);
        Assert.Contains("'rp0' is a root-port", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_AcsOnSwitch_PointsToPorts()
    {
        TopologyException ex = Fails(TopologySamples.BelowRootPort(
            """{ "name": "sw0", "kind": "switch", "acs": {}, "ports": [ { "name": "d" } ] }"""));

        Assert.Equal(Child0 + ".acs", ex.Path);
        Assert.Contains("'upstream' or 'ports'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnknownPortProperty_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.BelowRootPort(
            """{ "name": "sw0", "kind": "switch", "upstream": { "name": "u", "children": [] }, "ports": [ { "name": "d" } ] }"""));

        Assert.Equal(Child0 + ".upstream.children", ex.Path);
        Assert.Contains("unknown property 'children'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BadAcsMnemonic_ReportsListEntry()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "rp0", "kind": "root-port", "acs": { "ctrl": ["RR", "XX"] } }"""));

        Assert.Equal(Dev0 + ".acs.ctrl[1]", ex.Path);
        Assert.Contains("'XX'", ex.Problem, StringComparison.Ordinal);
        Assert.Contains("SV, TB, RR, CR, UF, EC, DT", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_AcsMnemonicTwice_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "rp0", "kind": "root-port", "acs": { "cap": ["RR", "rr"] } }"""));

        Assert.Equal(Dev0 + ".acs.cap[1]", ex.Path);
        Assert.Contains("'rr'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_AcsHexOutsideKnownBits_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "rp0", "kind": "root-port", "acs": { "cap": "0x80" } }"""));

        Assert.Equal(Dev0 + ".acs.cap", ex.Path);
        Assert.Contains("0x80", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_AcsCtrlAsNumber_ReportsWrongType()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "rp0", "kind": "root-port", "acs": { "ctrl": 12 } }"""));

        Assert.Equal(Dev0 + ".acs.ctrl", ex.Path);
        Assert.Contains("not a number", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_AcsCtrlOutsideCap_NamesTheBits()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            """{ "name": "rp0", "kind": "root-port", "acs": { "cap": ["SV", "RR"], "ctrl": ["RR", "CR"] } }"""));

        Assert.Equal(Dev0 + ".acs.ctrl", ex.Path);
        Assert.Contains("enables CR", ex.Problem, StringComparison.Ordinal);
        Assert.Contains("cap: SV RR", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_AcsEgressWithoutEc_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            """{ "name": "rp0", "kind": "root-port", "acs": { "cap": "0x1d", "egress": 3 } }"""));

        Assert.Equal(Dev0 + ".acs.egress", ex.Path);
        Assert.Contains("EC", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_AcsEgressWiderThanEgressBits_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            """{ "name": "rp0", "kind": "root-port", "acs": { "egress": "0x10", "egressBits": 4 } }"""));

        Assert.Equal(Dev0 + ".acs.egress", ex.Path);
        Assert.Contains("0x10", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SameSlotTwice_NamesFirstOwner()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            """{ "name": "ep0", "kind": "endpoint", "slot": "03.0" }""",
            """{ "name": "ep1", "kind": "endpoint", "slot": "03.0" }"""));

        Assert.Equal(Dev1 + ".slot", ex.Path);
        Assert.Contains("slot 03.0", ex.Problem, StringComparison.Ordinal);
        Assert.Contains("'ep0'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SameSlotOnDifferentBuses_Accepted()
    {
        TopologyDescription topology = TopologyJsonReader.Parse(TopologySamples.OnRootBus(
            """{ "name": "rp0", "kind": "root-port", "slot": "01.0", "children": [ { "name": "a", "kind": "endpoint", "slot": "01.0" } ] }"""));

        Assert.Equal(new PciSlot(1, 0), topology.HostBridges[0].Devices[0].Children[0].Slot);
    }

    [Fact]
    public void Parse_SlotTakenByExtraFunction_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            """{ "name": "ep0", "kind": "endpoint", "slot": "04.0", "functions": [ { "name": "ep0.f1", "kind": "endpoint", "slot": "04.1" } ] }""",
            """{ "name": "ep1", "kind": "endpoint", "slot": "04.1" }"""));

        Assert.Equal(Dev1 + ".slot", ex.Path);
        Assert.Contains("'ep0.f1'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SlotTakenByEarlierVf_NamesTheVf()
    {
        // PF 04.0 with F = 1 function: VF i has devfn 04.0 + 1 + (i - 1), so vf1 is 04.1.
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            """{ "name": "ep0", "kind": "endpoint", "slot": "04.0", "vfs": 2 }""",
            """{ "name": "ep1", "kind": "endpoint", "slot": "04.2" }"""));

        Assert.Equal(Dev1 + ".slot", ex.Path);
        Assert.Contains("'ep0.vf2'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_VfWouldTakeEarlierSlot_ReportsVfs()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            """{ "name": "ep1", "kind": "endpoint", "slot": "05.0" }""",
            """{ "name": "ep0", "kind": "endpoint", "slot": "04.0", "functions": [ { "name": "ep0.f1", "kind": "endpoint" } ], "vfs": 7 }"""));

        Assert.Equal(Dev1 + ".vfs", ex.Path);
        Assert.Contains("VF 7 of 'ep0'", ex.Problem, StringComparison.Ordinal);
        Assert.Contains("slot 05.0", ex.Problem, StringComparison.Ordinal);
        Assert.Contains("'ep1'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_PortSlotTwiceOnSwitchBus_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.BelowRootPort(
            """{ "name": "sw0", "kind": "switch", "ports": [ { "name": "d0", "slot": "01.0" }, { "name": "d1", "slot": "01.0" } ] }"""));

        Assert.Equal(Child0 + ".ports[1].slot", ex.Path);
        Assert.Contains("'d0'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_FunctionOnAnotherDevice_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            """{ "name": "ep0", "kind": "endpoint", "slot": "04.0", "functions": [ { "name": "ep0.f1", "kind": "endpoint", "slot": "05.1" } ] }"""));

        Assert.Equal(Dev0 + ".functions[0].slot", ex.Path);
        Assert.Contains("05.1", ex.Problem, StringComparison.Ordinal);
        Assert.Contains("device 04", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_FunctionSlotWithoutParentSlot_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            """{ "name": "ep0", "kind": "endpoint", "functions": [ { "name": "ep0.f1", "kind": "endpoint", "slot": "04.1" } ] }"""));

        Assert.Equal(Dev0 + ".functions[0].slot", ex.Path);
        Assert.Contains("'ep0'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_FunctionWithFunctions_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            """{ "name": "ep0", "kind": "endpoint", "functions": [ { "name": "f1", "kind": "endpoint", "functions": [] } ] }"""));

        Assert.Equal(Dev0 + ".functions[0].functions", ex.Path);
        Assert.Contains("'f1' cannot have functions", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_FunctionOfKindSwitch_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            """{ "name": "ep0", "kind": "endpoint", "functions": [ { "name": "f1", "kind": "switch" } ] }"""));

        Assert.Equal(Dev0 + ".functions[0].kind", ex.Path);
        Assert.Contains("not a switch", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_HostBridgeNotAt00_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "hostdev", "kind": "host-bridge", "slot": "04.0" }"""));

        Assert.Equal(Dev0 + ".slot", ex.Path);
        Assert.Contains("00.0, not 04.0", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_HostBridgeWithoutSlotNotFirst_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            """{ "name": "rp0", "kind": "root-port" }""",
            """{ "name": "hostdev", "kind": "host-bridge" }"""));

        Assert.Equal(Dev1, ex.Path);
        Assert.Contains("'hostdev' must be at slot 00.0", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SlotCollidingWithImpliedHostBridgeSlot_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            """{ "name": "hostdev", "kind": "host-bridge" }""",
            """{ "name": "ep0", "kind": "endpoint", "slot": "00.0" }"""));

        Assert.Equal(Dev1 + ".slot", ex.Path);
        Assert.Contains("'hostdev'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_HostBridgeBelowRootPort_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.BelowRootPort("""{ "name": "hostdev", "kind": "host-bridge" }"""));

        Assert.Equal(Child0 + ".kind", ex.Path);
        Assert.Contains("root bus", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_RootPortBelowRootPort_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.BelowRootPort("""{ "name": "rp9", "kind": "root-port" }"""));

        Assert.Equal(Child0 + ".kind", ex.Path);
        Assert.Contains("root-port 'rp9'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SwitchOnRootBus_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "sw0", "kind": "switch", "ports": [ { "name": "d" } ] }"""));

        Assert.Equal(Dev0 + ".kind", ex.Path);
        Assert.Contains("switch 'sw0'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_TwoHostBridgesOnOneRootBus_NamesTheFirst()
    {
        TopologyException ex = Fails("""{ "hostBridges": [ { "name": "a", "bus": 0 }, { "name": "b", "segment": 0, "bus": "0x00" } ] }""");

        Assert.Equal("$.hostBridges[1].bus", ex.Path);
        Assert.Contains("'a'", ex.Problem, StringComparison.Ordinal);
        Assert.Contains("0000:00", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_TwoHostBridgesBothDefaulted_ReportsSecondEntry()
    {
        TopologyException ex = Fails("""{ "hostBridges": [ {}, {} ] }""");

        Assert.Equal("$.hostBridges[1]", ex.Path);
        Assert.Contains("'hb0'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BusOutOfRange_Rejected()
    {
        TopologyException ex = Fails("""{ "hostBridges": [ { "bus": 256 } ] }""");

        Assert.Equal("$.hostBridges[0].bus", ex.Path);
        Assert.Contains("256", ex.Problem, StringComparison.Ordinal);
        Assert.Contains("0..255", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NegativeBus_Rejected()
    {
        TopologyException ex = Fails("""{ "hostBridges": [ { "bus": -1 } ] }""");

        Assert.Equal("$.hostBridges[0].bus", ex.Path);
        Assert.Contains("-1", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SegmentOutOfRange_Rejected()
    {
        TopologyException ex = Fails("""{ "hostBridges": [ { "segment": 65536 } ] }""");

        Assert.Equal("$.hostBridges[0].segment", ex.Path);
        Assert.Contains("65536", ex.Problem, StringComparison.Ordinal);
        Assert.Contains("0xffff", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SecondaryBusOutOfRange_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "rp0", "kind": "root-port", "secondaryBus": "0x100" }"""));

        Assert.Equal(Dev0 + ".secondaryBus", ex.Path);
        Assert.Contains("\"0x100\"", ex.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"4.0\"")]
    [InlineData("\"04:0\"")]
    [InlineData("\"20.0\"")]
    [InlineData("\"04.8\"")]
    [InlineData("\" 4.0\"")]
    public void Parse_BadSlot_QuotesIt(string slot)
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus($$"""{ "name": "ep0", "kind": "endpoint", "slot": {{slot}} }"""));

        Assert.Equal(Dev0 + ".slot", ex.Path);
        Assert.Contains(slot, ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_VendorIdTooLarge_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "ep0", "kind": "endpoint", "vendorId": "0x10000" }"""));

        Assert.Equal(Dev0 + ".vendorId", ex.Path);
        Assert.Contains("\"0x10000\"", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_VendorIdWithoutHexPrefix_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "ep0", "kind": "endpoint", "vendorId": "8086" }"""));

        Assert.Equal(Dev0 + ".vendorId", ex.Path);
        Assert.Contains("\"8086\"", ex.Problem, StringComparison.Ordinal);
        Assert.Contains("0x", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_VendorIdAllOnes_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "ep0", "kind": "endpoint", "vendorId": "0xffff" }"""));

        Assert.Equal(Dev0 + ".vendorId", ex.Path);
        Assert.Contains("0xffff", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DeviceIdOnPortTooLarge_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.BelowRootPort(
            """{ "name": "sw0", "kind": "switch", "ports": [ { "name": "d", "deviceId": 70000 } ] }"""));

        Assert.Equal(Child0 + ".ports[0].deviceId", ex.Path);
        Assert.Contains("70000", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ClassCodeWiderThan24Bits_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "ep0", "kind": "endpoint", "classCode": "0x1000000" }"""));

        Assert.Equal(Dev0 + ".classCode", ex.Path);
        Assert.Contains("0xffffff", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_TooManyVfs_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "ep0", "kind": "endpoint", "vfs": 256 }"""));

        Assert.Equal(Dev0 + ".vfs", ex.Path);
        Assert.Contains("256", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Bar5As64Bit_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            """{ "name": "ep0", "kind": "endpoint", "bars": [ { "index": 5, "size": "1MiB", "prefetchable": true } ] }"""));

        Assert.Equal(Dev0 + ".bars[0].index", ex.Path);
        Assert.Contains("BAR 5 cannot be 64-bit", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BarOverlappingA64BitBar_NamesIt()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            """{ "name": "ep0", "kind": "endpoint", "bars": [ { "index": 0, "size": "1MiB", "bits": 64 }, { "index": 1, "size": "4KiB" } ] }"""));

        Assert.Equal(Dev0 + ".bars[1].index", ex.Path);
        Assert.Contains("bars[0]", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_64BitBarRunningIntoNextBar_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            """{ "name": "ep0", "kind": "endpoint", "bars": [ { "index": 3, "size": "4KiB" }, { "index": 2, "size": "1MiB", "bits": 64 } ] }"""));

        Assert.Equal(Dev0 + ".bars[1].index", ex.Path);
        Assert.Contains("index 3", ex.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"3MiB\"", "3MiB")]
    [InlineData("64", "64 bytes")]
    public void Parse_BarSizeNotPowerOfTwoOrTooSmall_Rejected(string size, string mentioned)
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            $$"""{ "name": "ep0", "kind": "endpoint", "bars": [ { "index": 0, "size": {{size}} } ] }"""));

        Assert.Equal(Dev0 + ".bars[0].size", ex.Path);
        Assert.Contains(mentioned, ex.Problem, StringComparison.Ordinal);
        Assert.Contains("power of two", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BarIndexOutOfRange_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            """{ "name": "ep0", "kind": "endpoint", "bars": [ { "index": 6, "size": "4KiB" } ] }"""));

        Assert.Equal(Dev0 + ".bars[0].index", ex.Path);
        Assert.Contains("0..5", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BarBitsNot32Or64_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            """{ "name": "ep0", "kind": "endpoint", "bars": [ { "index": 0, "size": "4KiB", "bits": 48 } ] }"""));

        Assert.Equal(Dev0 + ".bars[0].bits", ex.Path);
        Assert.Contains("48", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Huge32BitBar_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus(
            """{ "name": "ep0", "kind": "endpoint", "bars": [ { "index": 0, "size": "4GiB" } ] }"""));

        Assert.Equal(Dev0 + ".bars[0].size", ex.Path);
        Assert.Contains("4GiB", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BarWithoutSize_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "ep0", "kind": "endpoint", "bars": [ { "index": 0 } ] }"""));

        Assert.Equal(Dev0 + ".bars[0]", ex.Path);
        Assert.Contains("'size'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NamespaceNotWholeBlocks_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "nvme0", "kind": "nvme", "namespaces": [ { "size": 1000 } ] }"""));

        Assert.Equal(Dev0 + ".namespaces[0].size", ex.Path);
        Assert.Contains("1000", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NamespaceInRamAndInAFile_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "nvme0", "kind": "nvme", "namespaces": [ { "size": 4096, "file": "/tmp/x.img", "ram": true } ] }"""));

        Assert.Equal(Dev0 + ".namespaces[0].ram", ex.Path);
        Assert.Contains("not both", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NamespaceRamNotABoolean_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "nvme0", "kind": "nvme", "namespaces": [ { "size": 4096, "ram": "yes" } ] }"""));

        Assert.Equal(Dev0 + ".namespaces[0].ram", ex.Path);
    }

    [Fact]
    public void Parse_CmbWithoutSize_Rejected()
    {
        TopologyException ex = Fails(TopologySamples.OnRootBus("""{ "name": "nvme0", "kind": "nvme", "cmb": {} }"""));

        Assert.Equal(Dev0 + ".cmb", ex.Path);
        Assert.Contains("'size'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_ReportsThePath()
    {
        string file = Path.Combine(Path.GetTempPath(), $"p2pemu-missing-{Guid.NewGuid():N}", "topology.jsonc");

        TopologyException ex = Assert.Throws<TopologyException>(() => TopologyJsonReader.Load(file));

        Assert.Equal(file, ex.Path);
        Assert.Contains(file, ex.Problem, StringComparison.Ordinal);
        Assert.Contains("not found", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_FileWithBadContent_ReportsJsonPath()
    {
        string file = Path.Combine(Path.GetTempPath(), $"p2pemu-bad-{Guid.NewGuid():N}.jsonc");
        File.WriteAllText(file, """{ "hostBridges": [ { "iommu": "maybe" } ] }""");
        try
        {
            TopologyException ex = Assert.Throws<TopologyException>(() => TopologyJsonReader.Load(file));

            Assert.Equal("$.hostBridges[0].iommu", ex.Path);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static TopologyException Fails(string json) =>
        Assert.Throws<TopologyException>(() => TopologyJsonReader.Parse(json));
}
