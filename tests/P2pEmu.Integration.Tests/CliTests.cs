using System.IO;
using System.Linq;
using P2pEmu.Cli;
using Xunit;

namespace P2pEmu.Integration.Tests;

public sealed class CliTests
{
    [Fact]
    public void NoArguments_RunsTheTransferScenarioOnTheDefaultTopology()
    {
        (int exit, string output, string error) = CliRunner.Run();

        Assert.Equal(Commands.ExitOk, exit);
        Assert.Equal(string.Empty, error);
        Assert.Contains("transfer scenario on default", output, System.StringComparison.Ordinal);
        // sw0's prefetchable window: nvme0's 64 MiB CMB, accel0's 64 MiB memory, then nic0's 32 MiB.
        Assert.Matches(@"nvme0 +-> nic0 BAR2 +BUS_ADDR +0x8008000000 +SwitchPeer \(PeerWindow at sw0.dp0\) +65536 B  ok", output);
        Assert.Matches(@"nvme0 +-> host RAM +NONE +0xffff0000 +HostMemory", output);
        Assert.Matches(@"nic0 -> nic1 +RDMA WRITE +host RAM .* IB_WC_SUCCESS +1048576 B  ok", output);
        Assert.Matches(@"nic0 -> nic1 +RDMA WRITE +accel0 memory \(vfio dma-buf\) +THRU_HOST_BRIDGE +IB_WC_SUCCESS +1048576 B  ok", output);
        Assert.Matches(@"nic0 -> nic1 +RDMA WRITE after revoke +accel0 memory \(vfio dma-buf\) +THRU_HOST_BRIDGE +IB_WC_REM_ACCESS_ERR +0 B  ok", output);
        Assert.Contains("integrity ok", output, System.StringComparison.Ordinal);
        // The same run again says the same, but for the paths' timings.
        string WithoutTimings(string text) => System.Text.RegularExpressions.Regex.Replace(text, @"[0-9.]+ ms +[0-9.]+ GB/s", "T");
        Assert.Equal(WithoutTimings(CliRunner.Run("run", "default").Output), WithoutTimings(output));
        Assert.Matches(@"nvme0n1 -> nic0 memory -> nic1 -> nvme1 CMB -> nvme1n1 \(P2P\)\n +BUS_ADDR, BUS_ADDR, THRU_HOST_BRIDGE, BUS_ADDR +4194304 B .* 2\.00 copies/byte  checksum ok", output);
    }

    [Fact]
    public void Run_Json_ReportsEveryTransferWithRouteAndIntegrity()
    {
        (int exit, string output, _) = CliRunner.Run("run", "two-root-ports", "--json");

        Assert.Equal(Commands.ExitOk, exit);
        using var json = System.Text.Json.JsonDocument.Parse(output);
        System.Text.Json.JsonElement root = json.RootElement;
        Assert.True(root.GetProperty("integrityOk").GetBoolean());
        Assert.Equal(4, root.GetProperty("transfers").GetArrayLength());
        System.Text.Json.JsonElement refused = root.GetProperty("transfers").EnumerateArray().First(t => t.GetProperty("target").GetString() == "ep1 BAR0");
        Assert.Equal("NOT_SUPPORTED", refused.GetProperty("mapType").GetString());
        Assert.Equal("KernelRefused", refused.GetProperty("status").GetString());
        Assert.Equal(0, refused.GetProperty("bytesTransferred").GetInt64());
    }

    [Fact]
    public void Topo_Default_ShowsTheEnumeratedTree()
    {
        (int exit, string output, string error) = CliRunner.Run("topo", "default");

        Assert.Equal(Commands.ExitOk, exit);
        Assert.Equal(string.Empty, error);
        Assert.Contains("hb0 [0000:00] iommu=translate rootComplexP2p=yes", output, System.StringComparison.Ordinal);
        Assert.Contains("00:01.0 rp1 (root-port)", output, System.StringComparison.Ordinal);
        Assert.Contains("ACS RR CR", output, System.StringComparison.Ordinal);
        Assert.Contains("03:00.0 nvme0 (nvme) [1b36:0010]", output, System.StringComparison.Ordinal);
        Assert.Contains("00:04.3 rciep0.vf2 (vf) [1b36:0006]", output, System.StringComparison.Ordinal);
    }

    [Fact]
    public void Topo_BadTopologyFile_ExitsWithPathAndProblem()
    {
        string file = Path.Combine(Path.GetTempPath(), $"p2pemu-bad-{System.Guid.NewGuid():N}.json");
        File.WriteAllText(file, """{ "hostBridges": [ { "name": "hb0", "devices": [ { "name": "x", "kind": "gpu" } ] } ] }""");
        try
        {
            (int exit, string output, string error) = CliRunner.Run("topo", file);

            Assert.Equal(Commands.ExitBadInput, exit);
            Assert.Equal(string.Empty, output);
            Assert.Contains("$.hostBridges[0].devices[0].kind", error, System.StringComparison.Ordinal);
            Assert.Contains("gpu", error, System.StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Topo_LspciOutput_ReadsBackAsTheSameTree()
    {
        (int exit, string dump, _) = CliRunner.Run("topo", "default", "--lspci");
        Assert.Equal(Commands.ExitOk, exit);
        string file = Path.Combine(Path.GetTempPath(), $"p2pemu-{System.Guid.NewGuid():N}.lspci");
        File.WriteAllText(file, dump);
        try
        {
            (int again, string tree, string error) = CliRunner.Run("topo", file);

            Assert.Equal(Commands.ExitOk, again);
            Assert.Equal(string.Empty, error);
            Assert.Contains("0000:01:00.0", tree, System.StringComparison.Ordinal);
            Assert.Contains("ACS RR CR", tree, System.StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Topo_DotOutput_IsADigraph()
    {
        (int exit, string dot, _) = CliRunner.Run("topo", "default", "--dot");

        Assert.Equal(Commands.ExitOk, exit);
        Assert.StartsWith("digraph", dot.TrimStart(), System.StringComparison.Ordinal);
        Assert.Contains("nvme0", dot, System.StringComparison.Ordinal);
    }

    [Fact]
    public void Help_ListsTheCommandsAndTheBuiltInTopologies()
    {
        (int exit, string output, string error) = CliRunner.Run("--help");

        Assert.Equal(Commands.ExitOk, exit);
        Assert.Equal(string.Empty, error);
        Assert.Matches(@"(?m)^  run <SCENARIO> ", output);
        Assert.Matches(@"(?m)^  topo <TOPOLOGY> ", output);
        Assert.Matches(@"(?m)^  p2p <TOPOLOGY> ", output);
        Assert.Contains(string.Join(", ", P2pEmu.Emulator.Topology.BuiltInTopologies.Names), output, System.StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("topo")]
    [InlineData("topo", "default", "--lspci", "--dot")]
    [InlineData("topo", "default", "--verbose")]
    [InlineData("run", "default", "extra")]
    [InlineData("run", "--jsonx")]
    public void BadUsage_ExitsWithUsage(params string[] args)
    {
        (int exit, string output, string error) = CliRunner.Run(args);

        Assert.Equal(Commands.ExitUsage, exit);
        Assert.Equal(string.Empty, output);
        Assert.Contains("Usage:", error, System.StringComparison.Ordinal);
    }
}
