using System.Collections.Generic;
using System.Linq;
using P2pEmu.Emulator.Topology;
using P2pEmu.Integration.Tests.NvmeDriver;
using P2pEmu.Machine.Scenarios;
using Xunit;

namespace P2pEmu.Integration.Tests;

public sealed class StorageScenarioTests
{
    [Fact]
    public void Run_TwoControllersUnderASwitch_ReadsIntoBothCmbs_AndEveryByteChecks()
    {
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.SwitchPair(AcsFlags.None, cmbOnBoth: true));

        IReadOnlyList<StorageCheck> checks = StorageScenario.Run(machine, bytesPerTransfer: 64 * 1024);

        // Two disks, each: a write, a read into host pages, a read into each of the two CMBs.
        Assert.Equal(8, checks.Count);
        Assert.All(checks, c => Assert.True(c.IntegrityOk && c.Expected, c.ToString()));
        Assert.All(checks, c => Assert.Equal("ok", c.Result));
        Assert.All(checks.Where(c => c.Buffer.StartsWith("p2pmem", System.StringComparison.Ordinal)), c => Assert.Equal("BUS_ADDR", c.MapType));
        Assert.Contains(checks, c => c.Disk == "nvme0n1" && c.Buffer == "p2pmem of nvme1");
        Assert.Contains(checks, c => c.Disk == "nvme1n1" && c.Buffer == "p2pmem of nvme0");
    }

    [Fact]
    public void Run_ProviderTheKernelRefuses_IsEinval_AndItsMemoryIsUntouched()
    {
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.TwoRootPortsNoP2p());

        IReadOnlyList<StorageCheck> checks = StorageScenario.Run(machine, bytesPerTransfer: 64 * 1024);

        List<StorageCheck> refused = checks.Where(c => c.MapType == "NOT_SUPPORTED").ToList();
        Assert.NotEmpty(refused);
        Assert.All(refused, c => Assert.Equal("EINVAL", c.Result));
        Assert.All(refused, c => Assert.True(c.Expected && c.IntegrityOk, c.ToString()));
        Assert.All(refused, c => Assert.Equal(0, c.BytesTransferred));
    }
}
