using System;
using System.Linq;
using P2pEmu.Emulator.Topology;
using P2pEmu.Emulator.Topology.Json;
using Xunit;

namespace P2pEmu.Emulator.Tests.Topology.Json;

public sealed class TopologyJsonWriterTests
{
    /// <summary>Every optional field and extension the format has, set to a non-default value.</summary>
    private const string EverythingSet = """
        {
          "platform": { "cpu": { "vendor": "hygon", "family": "0x18" }, "kernel": "revoke-2026", "ram": "1536" },
          "hostBridges": [
            { "name": "hbA", "segment": 2, "bus": "0x40", "iommu": "passthrough", "rootComplexP2p": true, "devices": [
              { "name": "hd", "kind": "host-bridge", "vendorId": "0x1d94", "deviceId": "0x1450", "classCode": "0x060000" },
              { "name": "rp", "kind": "root-port", "slot": "03.1", "secondaryBus": 65,
                "acs": { "cap": ["SV", "RR", "CR", "EC"], "ctrl": ["RR", "EC"], "egress": "0x00000003", "egressBits": 8 },
                "children": [
                  { "name": "sw", "kind": "switch", "slot": "00.0", "vendorId": "0x10b5",
                    "upstream": { "name": "sw.u", "slot": "00.0", "secondaryBus": 66, "vendorId": "0x10b5", "deviceId": "0x8747",
                                  "acs": { "cap": "0x1d", "ctrl": [] } },
                    "ports": [
                      { "name": "sw.d0", "slot": "08.0", "secondaryBus": 67, "acs": {}, "children": [
                        { "name": "nv", "kind": "nvme", "cmb": { "size": "48MiB" },
                          "namespaces": [ { "size": "3GiB", "file": "/tmp/nv.img" }, { "size": 512 } ], "vfs": 3 } ] },
                      { "name": "sw.d1", "deviceId": "0x0001", "children": [
                        { "name": "gpu", "kind": "accelerator", "memory": "24GiB", "functions": [
                          { "name": "gpu.audio", "kind": "endpoint", "classCode": 262912,
                            "bars": [ { "index": 0, "size": "16KiB" } ] } ] } ] } ] } ] },
              { "name": "ep", "kind": "endpoint", "slot": "1f.0",
                "bars": [ { "index": 0, "size": "4KiB" }, { "index": 2, "size": "1TiB", "prefetchable": true, "backing": "/dev/shm/ep" },
                          { "index": 4, "size": "1MiB", "bits": 64 } ],
                "functions": [ { "name": "ep.f7", "kind": "nic", "slot": "1f.7", "memory": "1000" } ] } ] } ] }
        """;

    [Theory]
    [InlineData("default")]
    [InlineData("switch-acs")]
    [InlineData("two-root-ports")]
    [InlineData("amd-multi-hb")]
    public void WriteThenParse_BuiltInTopology_GivesEqualRecords(string name)
    {
        TopologyDescription original = TopologyJsonReader.Parse(BuiltInTopologies.Get(name));

        TopologyDescription reread = TopologyJsonReader.Parse(TopologyJsonWriter.Write(original));

        Assert.Equal(TopologyDump.Of(original), TopologyDump.Of(reread));
    }

    [Fact]
    public void WriteThenParse_EveryOptionalField_GivesEqualRecords()
    {
        TopologyDescription original = TopologyJsonReader.Parse(EverythingSet);

        TopologyDescription reread = TopologyJsonReader.Parse(TopologyJsonWriter.Write(original));

        Assert.Equal(TopologyDump.Of(original), TopologyDump.Of(reread));
    }

    [Fact]
    public void Write_ParsedOutput_IsStable()
    {
        string first = TopologyJsonWriter.Write(TopologyJsonReader.Parse(EverythingSet));

        string second = TopologyJsonWriter.Write(TopologyJsonReader.Parse(first));

        Assert.Equal(first, second);
    }

    [Fact]
    public void Write_HandBuiltRecords_ParseBackEqual()
    {
        TopologyDescription records = TopologySamples.DesignExampleRecords();

        TopologyDescription reread = TopologyJsonReader.Parse(TopologyJsonWriter.Write(records));

        Assert.Equal(TopologyDump.Of(records), TopologyDump.Of(reread));
    }

    [Fact]
    public void Write_DesignExample_UsesTheFormatsSpellings()
    {
        string json = TopologyJsonWriter.Write(TopologyJsonReader.Parse(TopologySamples.DesignExample));

        Assert.Contains("\"kind\": \"host-bridge\"", json, StringComparison.Ordinal);
        Assert.Contains("\"iommu\": \"translate\"", json, StringComparison.Ordinal);
        Assert.Contains("\"memory\": \"32MiB\"", json, StringComparison.Ordinal);
        Assert.Contains("\"vendorId\": \"0x8086\"", json, StringComparison.Ordinal);
        Assert.Contains("\"slot\": \"04.1\"", json, StringComparison.Ordinal);
        Assert.EndsWith("}\n", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\r", json, StringComparison.Ordinal);
    }

    [Fact]
    public void TopologyDump_DeepDifference_Shows()
    {
        TopologyDescription a = TopologyJsonReader.Parse(TopologySamples.DesignExample);
        TopologyDescription b = TopologyJsonReader.Parse(TopologySamples.DesignExample.Replace("1GiB", "2GiB", StringComparison.Ordinal));

        Assert.NotEqual(TopologyDump.Of(a), TopologyDump.Of(b));
    }

    [Fact]
    public void Write_NamespaceBackings_RoundTrip()
    {
        string source = TopologySamples.DesignExample.Replace(
            "\"namespaces\": [ { \"size\": \"1GiB\" } ]",
            "\"namespaces\": [ { \"size\": \"1GiB\" }, { \"size\": \"4KiB\", \"ram\": true }, { \"size\": \"8KiB\", \"file\": \"/tmp/ns.img\" } ]",
            StringComparison.Ordinal);
        Assert.NotEqual(TopologySamples.DesignExample, source);
        TopologyDescription parsed = TopologyJsonReader.Parse(source);

        TopologyDescription again = TopologyJsonReader.Parse(TopologyJsonWriter.Write(parsed));

        NamespaceDescription[] namespaces = again.HostBridges[0].Devices[1].Children[0].Ports[0].Children[0].Namespaces.ToArray();
        Assert.Equal(new[] { false, true, false }, namespaces.Select(n => n.InRam));
        Assert.Equal(new string?[] { null, null, "/tmp/ns.img" }, namespaces.Select(n => n.BackingPath));
    }

    [Fact]
    public void Write_AccelAlias_IsWrittenAsAccelerator_AndParsesBackEqual()
    {
        TopologyDescription parsed = TopologyJsonReader.Parse(TopologySamples.BelowRootPort("""{ "name": "gpu0", "kind": "accel", "memory": "32MiB" }"""));

        string json = TopologyJsonWriter.Write(parsed);

        Assert.Contains("\"kind\": \"accelerator\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\"accel\"", json, StringComparison.Ordinal);
        Assert.Equal(TopologyDump.Of(parsed), TopologyDump.Of(TopologyJsonReader.Parse(json)));
    }

    [Fact]
    public void Write_Null_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => TopologyJsonWriter.Write(null!));
    }
}
