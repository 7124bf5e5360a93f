using System;
using System.IO;
using System.Linq;
using P2pEmu.Emulator.Topology;
using P2pEmu.Machine.Scenarios.Workload;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Integration.Tests.Scenarios;

/// <summary>The scenario reader: what it accepts, and every mistake reported at its JSON path.</summary>
public sealed class ScenarioFileTests
{
    private const string Dma = """{ "name": "t", "path": "dma", "from": "nvme0", "to": "host", "size": "64KiB" }""";

    private static ScenarioDescription Parse(string json) => ScenarioFile.Parse(json, "test", Path.GetTempPath());

    private static TopologyException Bad(string json) => Assert.Throws<TopologyException>(() => Parse(json));

    [Fact]
    public void AScenario_WithCommentsAndTrailingCommas_ReadsEveryField_AndTheIommuModeReachesEveryHostBridge()
    {
        ScenarioDescription s = Parse("""
            // comment
            { "name": "x", "topology": "default", "iommu": "off", "executionMode": "concurrent", "seed": 42,
              "transfers": [ { "name": "a", "path": "storage", "from": "nvme0n1", "to": "nvme1", "size": "1MiB", "chunk": "64KiB", "queueDepth": 8, "offset": 4096, }, ],
              "faults": [ { "action": "flip-acs", "device": "sw0.dp0", "transfer": "a", "afterChunk": 15, "bits": ["RR", "CR"] }, ], }
            """);

        Assert.Equal("x", s.Name);
        Assert.Equal(42, s.Seed);
        Assert.Equal(P2pEmu.Emulator.Execution.ExecutionMode.Concurrent, s.ExecutionMode);
        Assert.All(s.Topology.HostBridges, hb => Assert.Equal(IommuMode.Off, hb.Iommu));
        WorkloadTransfer t = Assert.Single(s.Transfers);
        Assert.Equal((TransferKind.Storage, "nvme0n1", "nvme1", 1UL << 20, 64UL << 10, 8, 4096UL), (t.Kind, t.From, t.To, t.Size, t.Chunk, t.QueueDepth, t.Offset));
        Assert.Equal(16, t.Chunks);
        FaultInjection f = Assert.Single(s.Faults);
        Assert.Equal((FaultAction.FlipAcs, "sw0.dp0", "a", 15, AcsFlags.RR | AcsFlags.CR), (f.Action, f.Device, f.Transfer, f.AfterChunk, f.Bits));
    }

    [Fact]
    public void Defaults_AreOneChunk_QueueDepthOne_OffsetZero_BeforeTheFirstChunk_AndRrCr()
    {
        ScenarioDescription s = Parse($$"""{ "topology": "default", "transfers": [ {{Dma}} ], "faults": [ { "action": "flip-acs", "device": "sw0.dp0", "transfer": "t" } ] }""");

        WorkloadTransfer t = Assert.Single(s.Transfers);
        Assert.Equal((64UL << 10, 1, 0UL, 1), (t.Chunk, t.QueueDepth, t.Offset, t.Chunks));
        Assert.Equal(1, s.Seed);
        Assert.Equal((-1, AcsFlags.RR | AcsFlags.CR), (s.Faults[0].AfterChunk, s.Faults[0].Bits));
        Assert.Equal(IommuMode.Translate, s.Topology.HostBridges[0].Iommu); // the topology's own mode
    }

    [Fact]
    public void ATopologyByPath_IsFoundNextToTheScenarioFile()
    {
        string directory = Directory.CreateTempSubdirectory("p2pemu-scenario").FullName;
        try
        {
            File.Copy(Path.Combine(RepositoryPaths.Root, "examples", "switch-acs.jsonc"), Path.Combine(directory, "machine.jsonc"));
            string file = Path.Combine(directory, "s.jsonc");
            File.WriteAllText(file, """{ "topology": "machine.jsonc", "transfers": [ { "path": "dma", "from": "nvme0", "to": "host", "size": 4096 } ] }""");

            ScenarioDescription s = ScenarioFile.Load(file);

            Assert.Equal("s", s.Name);
            Assert.Equal("t0", s.Transfers[0].Name);
            HostBridgeDescription hb = Assert.Single(s.Topology.HostBridges); // switch-acs.jsonc, not the default (two host bridges, nic1)
            Assert.DoesNotContain(hb.Devices.SelectMany(Flatten), d => d.Name == "nic1");
            Assert.Contains(hb.Devices.SelectMany(Flatten), d => d.Name == "nic0");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData("""{ "transfers": [] }""", "$", "needs a 'topology'")]
    [InlineData("""{ "topology": "default" }""", "$", "needs 'transfers'")]
    [InlineData("""{ "topology": "default", "transfers": [] }""", "$.transfers", "at least one transfer")]
    [InlineData("""{ "topology": "default", "transfer": [] }""", "$.transfer", "unknown property 'transfer'")]
    [InlineData("""{ "topology": "nosuch", "transfers": [ {} ] }""", "$.topology", "no built-in topology of that name")]
    [InlineData("""{ "topology": "default", "iommu": "on", "transfers": [ {} ] }""", "$.iommu", "\"off\", \"passthrough\", \"translate\"")]
    [InlineData("""{ "topology": "default", "transfers": [ { "path": "dma", "from": "a", "to": "b", "size": "1MiB", "sise": 1 } ] }""", "$.transfers[0].sise", "unknown property 'sise'")]
    [InlineData("""{ "topology": "default", "transfers": [ { "path": "teleport", "from": "a", "to": "b", "size": 1 } ] }""", "$.transfers[0].path", "\"dma\", \"storage\", \"pgmap\", \"rdma\", \"dmabuf\"")]
    [InlineData("""{ "topology": "default", "transfers": [ { "path": "dma", "to": "b", "size": 1 } ] }""", "$.transfers[0]", "'from' is missing")]
    [InlineData("""{ "topology": "default", "transfers": [ { "path": "dma", "from": "a", "to": "b", "size": "1KiB", "chunk": "2KiB" } ] }""", "$.transfers[0].chunk", "larger than the transfer's 1024")]
    [InlineData("""{ "topology": "default", "transfers": [ { "path": "dma", "from": "a", "to": "b", "size": "1KiB", "queueDepth": 2 } ] }""", "$.transfers[0].queueDepth", "'queueDepth' must be 1")]
    [InlineData("""{ "topology": "default", "transfers": [ { "path": "rdma", "from": "a", "to": "b", "size": "1KiB", "queueDepth": 0 } ] }""", "$.transfers[0].queueDepth", "1 to 256")]
    [InlineData("""{ "topology": "default", "transfers": [ { "path": "storage", "from": "a", "to": "b", "size": 1000 } ] }""", "$.transfers[0].size", "512-byte logical blocks")]
    [InlineData("""{ "topology": "default", "transfers": [ { "path": "pgmap", "from": "a", "to": "b", "size": 4096, "offset": 100 } ] }""", "$.transfers[0].offset", "512-byte logical blocks")]
    [InlineData("""{ "topology": "default", "transfers": [ { "name": "x", "path": "dma", "from": "a", "to": "b", "size": 1 }, { "name": "x", "path": "dma", "from": "a", "to": "b", "size": 1 } ] }""", "$.transfers[1].name", "taken by $.transfers[0]")]
    [InlineData($$"""{ "topology": "default", "transfers": [ {{Dma}} ], "faults": [ { "action": "explode", "device": "a", "transfer": "t" } ] }""", "$.faults[0].action", "\"remove-provider\", \"revoke-dmabuf\", \"reset-device\", \"flip-acs\"")]
    [InlineData($$"""{ "topology": "default", "transfers": [ {{Dma}} ], "faults": [ { "action": "flip-acs", "device": "a", "transfer": "u" } ] }""", "$.faults[0].transfer", "no transfer named 'u' (transfers: t)")]
    [InlineData($$"""{ "topology": "default", "transfers": [ {{Dma}} ], "faults": [ { "action": "flip-acs", "device": "a", "transfer": "t", "afterChunk": 1 } ] }""", "$.faults[0].afterChunk", "has 1 chunks")]
    [InlineData($$"""{ "topology": "default", "transfers": [ {{Dma}} ], "faults": [ { "action": "revoke-dmabuf", "device": "accel0", "transfer": "t" } ] }""", "$.faults[0].device", "is a dma transfer to 'host'")]
    [InlineData($$"""{ "topology": "default", "transfers": [ {{Dma}} ], "faults": [ { "action": "remove-provider", "device": "nvme1", "transfer": "t", "bits": ["RR"] } ] }""", "$.faults[0].bits", "belongs to a flip-acs fault")]
    [InlineData("""{ "topology": { "hostBridges": [ { "name": "hb0", "devices": [ { "name": "g", "kind": "gpu" } ] } ] }, "transfers": [ {} ] }""", "$.topology.hostBridges[0].devices[0].kind", "unknown kind")]
    [InlineData("""{ "topology": "default", "transfers": [ { ] }""", "$", "not valid JSON at line 1")]
    public void AMistake_IsReportedAtItsJsonPath(string json, string path, string problem)
    {
        TopologyException e = Bad(json);

        Assert.Equal(path, e.Path);
        Assert.Contains(problem, e.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "topology": "default", "transfers": [] }""", true)]
    [InlineData("""/* a scenario */ { "transfers": [ ], }""", true)]
    [InlineData("""{ "hostBridges": [] }""", false)]
    [InlineData("0000:00:00.0 Host bridge", false)]
    public void LooksLikeScenario_TellsScenariosFromTopologiesAndDumps(string text, bool scenario) =>
        Assert.Equal(scenario, ScenarioFile.LooksLikeScenario(text));

    private static System.Collections.Generic.IEnumerable<DeviceDescription> Flatten(DeviceDescription d) =>
        new[] { d }.Concat(d.Children.SelectMany(Flatten)).Concat(d.Ports.SelectMany(p => p.Children.SelectMany(Flatten)));
}
