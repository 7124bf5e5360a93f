using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using P2pEmu.Cli;
using Xunit;

namespace P2pEmu.Integration.Tests;

public sealed class P2pCommandTests
{
    [Fact]
    public void Json_HasOnePairPerOrderedPairOfEndpointFunctions_WithTheContractFields()
    {
        (int exit, string output, _) = CliRunner.Run("p2p", "default", "--json");

        Assert.Equal(Commands.ExitOk, exit);
        using var json = JsonDocument.Parse(output);
        JsonElement[] pairs = json.RootElement.GetProperty("pairs").EnumerateArray().ToArray();
        string[] functions = { "rciep0", "rciep0.f1", "nvme0", "nic0", "accel0", "nic1", "nvme1", "nvme2", "nvme3", "rciep0.vf1", "rciep0.vf2" };
        Assert.Equal(functions.Length * functions.Length, pairs.Length);
        Assert.Equal(functions.SelectMany(p => functions.Select(c => (p, c))), pairs.Select(p => (p.GetProperty("provider").GetString()!, p.GetProperty("client").GetString()!)));
        JsonElement peer = pairs.Single(p => p.GetProperty("provider").GetString() == "nvme0" && p.GetProperty("client").GetString() == "nic0");
        Assert.Equal("BUS_ADDR", peer.GetProperty("mapType").GetString());
        Assert.Equal(4, peer.GetProperty("distance").GetInt32());
        Assert.Equal(4, peer.GetProperty("pathDistance").GetInt32());
        Assert.Equal(0, peer.GetProperty("redirectingPorts").GetArrayLength());
        Assert.True(peer.GetProperty("hostBridgeAllowed").GetBoolean());
        Assert.False(json.RootElement.TryGetProperty("distanceMany", out _));
    }

    [Fact]
    public void Json_ProviderWithClients_AddsDistanceMany_AndExplainAddsReasons()
    {
        (int exit, string output, _) = CliRunner.Run("p2p", "switch-acs", "--json", "--explain", "--provider", "nvme0", "--client", "nic0", "--client", "nvme0");

        Assert.Equal(Commands.ExitOk, exit);
        using var json = JsonDocument.Parse(output);
        Assert.Equal(4, json.RootElement.GetProperty("distanceMany").GetInt32());
        JsonElement peer = json.RootElement.GetProperty("pairs")[0];
        Assert.Equal("THRU_HOST_BRIDGE", peer.GetProperty("mapType").GetString());
        Assert.Equal(new[] { "sw0.dp0", "sw0.dp1" }, peer.GetProperty("redirectingPorts").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("sw0.up", peer.GetProperty("commonUpstream").GetString());
        Assert.Contains("matches allow-list entry 8086:2020", peer.GetProperty("hostBridgeReason").GetString(), StringComparison.Ordinal);
        Assert.Contains(json.RootElement.GetProperty("kernelLog").EnumerateArray(), l => l.GetString()!.Contains("pci=disable_acs_redir=0000:02:00.0;0000:02:01.0", StringComparison.Ordinal));
    }

    [Fact]
    public void Text_ShowsAMatrixWithLegend_AndExplainShowsEveryPair()
    {
        (int exit, string output, _) = CliRunner.Run("p2p", "two-root-ports", "--explain");

        Assert.Equal(Commands.ExitOk, exit);
        Assert.Matches(@"ep0 +B0 +-4\b", output);
        Assert.Contains("- = NOT_SUPPORTED", output, StringComparison.Ordinal);
        Assert.Contains("ep0 -> ep1: NOT_SUPPORTED, distance -1 (path 4); no common upstream device", output, StringComparison.Ordinal);
        Assert.Contains("host bridge refused", output, StringComparison.Ordinal);
    }

    [Fact]
    public void LspciDump_IsAcceptedAsTopology_AndKeepsTheVerdicts()
    {
        (_, string dump, _) = CliRunner.Run("topo", "switch-acs", "--lspci");
        string file = Path.Combine(Path.GetTempPath(), $"p2pemu-{Guid.NewGuid():N}.lspci");
        File.WriteAllText(file, dump);
        try
        {
            (int exit, string output, string error) = CliRunner.Run("p2p", file, "--json", "--provider", "0000:03:00.0", "--client", "0000:04:00.0");

            Assert.Equal(Commands.ExitOk, exit);
            Assert.Equal(string.Empty, error);
            using var json = JsonDocument.Parse(output);
            JsonElement pair = json.RootElement.GetProperty("pairs")[0];
            Assert.Equal("THRU_HOST_BRIDGE", pair.GetProperty("mapType").GetString());
            Assert.Equal(new[] { "0000:02:00.0", "0000:02:01.0" }, pair.GetProperty("redirectingPorts").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(4, json.RootElement.GetProperty("distanceMany").GetInt32());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("--provider", "nosuch")]
    [InlineData("--client", "nic0")]
    public void UnknownNamesOrClientWithoutProvider_AreBadInput(string option, string value)
    {
        (int exit, string output, string error) = CliRunner.Run("p2p", "default", option, value);

        Assert.Equal(Commands.ExitBadInput, exit);
        Assert.Equal(string.Empty, output);
        Assert.Contains(option, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("p2p")]
    [InlineData("p2p", "default", "--provider")]
    [InlineData("p2p", "default", "--bogus")]
    public void BadUsage_ExitsWithUsage(params string[] args)
    {
        (int exit, _, string error) = CliRunner.Run(args);

        Assert.Equal(Commands.ExitUsage, exit);
        Assert.Contains("Usage:", error, StringComparison.Ordinal);
    }
}
