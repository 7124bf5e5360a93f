using System;
using System.IO;
using P2pEmu.Emulator.Topology;
using P2pEmu.Machine.Scenarios.Workload;
using Xunit;

namespace P2pEmu.Integration.Tests.Scenarios;

/// <summary>The checks that need the machine: names of the right kind where they stand, buffers that fit.</summary>
public sealed class ScenarioValidatorTests
{
    [Theory]
    [InlineData("""{ "path": "dma", "from": "nvme9", "to": "host", "size": 1 }""", "$.transfers[0].from", "no endpoint function 'nvme9' (choices: rciep0, rciep0.f1, nvme0")]
    [InlineData("""{ "path": "dma", "from": "nvme0", "to": "accel0", "size": 1 }""", "$.transfers[0].to", "'accel0' is neither \"host\" nor a device that publishes p2pmem (choices: nvme0, nic0, nic1, nvme1, nvme2, nvme3)")]
    [InlineData("""{ "path": "dma", "from": "nvme0", "to": "nvme1", "size": "65MiB" }""", "$.transfers[0].to", "needs 68157440")]
    [InlineData("""{ "path": "storage", "from": "nvme0", "to": "host", "size": 4096 }""", "$.transfers[0].from", "neither 'nvme0' nor 'host' is a drive")]
    [InlineData("""{ "path": "pgmap", "from": "nvme2n1", "to": "host", "size": "64MiB", "offset": 512 }""", "$.transfers[0].size", "past the end of nvme2n1")]
    [InlineData("""{ "path": "rdma", "from": "nvme0", "to": "host", "size": 1 }""", "$.transfers[0].from", "no cabled NIC named 'nvme0' (the far end of its link receives) (choices: nic0, nic1)")]
    [InlineData("""{ "path": "dmabuf", "from": "nic0", "to": "nvme1", "size": 1 }""", "$.transfers[0].to", "no accelerator bound to vfio-pci named 'nvme1' (choices: accel0)")]
    [InlineData("""{ "path": "dmabuf", "from": "nic0", "to": "accel0", "size": "65MiB" }""", "$.transfers[0].size", "more than accel0's 67108864 bytes")]
    public void ATransferTheMachineCannotRun_IsReportedAtItsJsonPath(string transfer, string path, string problem)
    {
        TopologyException e = Assert.Throws<TopologyException>(() => Run($$"""{ "topology": "default", "transfers": [ {{transfer}} ] }"""));

        Assert.Equal(path, e.Path);
        Assert.Contains(problem, e.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("remove-provider", "accel0", "", "$.faults[0].device", "'accel0' is not a P2PDMA provider")]
    [InlineData("reset-device", "nvme0", "", "$.faults[0].device", "'nvme0' is not bound to vfio-pci (choices: accel0)")]
    [InlineData("flip-acs", "nvme0", "", "$.faults[0].device", "'nvme0' has no ACS capability")]
    [InlineData("flip-acs", "sw1.dp0", """, "bits": "0x100" """, "$.faults[0].bits", "has bits outside SV, TB, RR, CR")]
    public void AFaultTheMachineCannotTakeIsReportedAtItsJsonPath(string action, string device, string extra, string path, string problem)
    {
        string json = $$"""{ "topology": "default", "transfers": [ { "name": "t", "path": "dma", "from": "nvme0", "to": "host", "size": 1 } ], "faults": [ { "action": "{{action}}", "device": "{{device}}", "transfer": "t" {{extra}} } ] }""";

        TopologyException e = Assert.Throws<TopologyException>(() => Run(json));

        Assert.Equal(path, e.Path);
        Assert.Contains(problem, e.Problem, StringComparison.Ordinal);
    }

    private static ScenarioReport Run(string json) => ScenarioRunner.Run(ScenarioFile.Parse(json, "test", Path.GetTempPath()));
}
