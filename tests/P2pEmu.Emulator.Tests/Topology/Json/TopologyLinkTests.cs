using System;
using System.Linq;
using P2pEmu.Emulator.Topology;
using P2pEmu.Emulator.Topology.Json;
using Xunit;

namespace P2pEmu.Emulator.Tests.Topology.Json;

/// <summary>The <c>link</c> property: the NIC at the other end of a NIC's cable.</summary>
public sealed class TopologyLinkTests
{
    private static string Json(string nic0Extra, string nic1Extra = "", string third = """{ "name": "ep", "kind": "endpoint" }""") => $$"""
        { "hostBridges": [ { "name": "hb0", "devices": [
            { "name": "rp0", "kind": "root-port", "children": [ { "name": "nic0", "kind": "nic"{{nic0Extra}} } ] },
            { "name": "rp1", "kind": "root-port", "children": [ { "name": "nic1", "kind": "nic"{{nic1Extra}} } ] },
            { "name": "rp2", "kind": "root-port", "children": [ {{third}} ] } ] } ] }
        """;

    private static DeviceDescription Device(TopologyDescription topology, string name) =>
        topology.HostBridges[0].Devices.SelectMany(d => d.Children).Single(d => d.Name == name);

    [Fact]
    public void Link_NamesThePeer_FromEitherOrBothSides_AndRoundTrips()
    {
        TopologyDescription one = TopologyJsonReader.Parse(Json(""", "link": "nic1" """));
        TopologyDescription both = TopologyJsonReader.Parse(Json(""", "link": "nic1" """, """, "link": "nic0" """));

        Assert.Equal("nic1", Device(one, "nic0").Link);
        Assert.Null(Device(one, "nic1").Link);
        Assert.Equal("nic0", Device(both, "nic1").Link);
        TopologyDescription again = TopologyJsonReader.Parse(TopologyJsonWriter.Write(one));
        Assert.Equal("nic1", Device(again, "nic0").Link);
    }

    [Theory]
    [InlineData(""", "link": "nic9" """, "", "$.hostBridges[0].devices[0].children[0].link", "'link' of 'nic0' names 'nic9', which is not a nic in this topology")]
    [InlineData(""", "link": "ep" """, "", "$.hostBridges[0].devices[0].children[0].link", "names 'ep', which is not a nic")]
    [InlineData(""", "link": "nic0" """, "", "$.hostBridges[0].devices[0].children[0].link", "names the nic itself")]
    [InlineData(""", "link": 7 """, "", "$.hostBridges[0].devices[0].children[0].link", "string")]
    public void BadLink_NamesThePathAndTheProblem(string nic0Extra, string nic1Extra, string path, string problem)
    {
        TopologyException ex = Assert.Throws<TopologyException>(() => TopologyJsonReader.Parse(Json(nic0Extra, nic1Extra)));

        Assert.Equal(path, ex.Path);
        Assert.Contains(problem, ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void ANicWithTwoPeers_IsRefused()
    {
        string json = Json(""", "link": "nic1" """, "", """{ "name": "nic2", "kind": "nic", "link": "nic0" }""");

        TopologyException ex = Assert.Throws<TopologyException>(() => TopologyJsonReader.Parse(json));

        Assert.Equal("$.hostBridges[0].devices[2].children[0].link", ex.Path);
        Assert.Contains("'nic0' is already linked to 'nic1'", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void LinkOnAnotherKind_IsRefused()
    {
        string json = Json("", "", """{ "name": "ep", "kind": "endpoint", "link": "nic0" }""");

        TopologyException ex = Assert.Throws<TopologyException>(() => TopologyJsonReader.Parse(json));

        Assert.Equal("$.hostBridges[0].devices[2].children[0].link", ex.Path);
        Assert.Contains("only allowed on a nic", ex.Problem, StringComparison.Ordinal);
    }
}
