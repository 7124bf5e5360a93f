using System.Linq;
using P2pEmu.Dma.Block;
using P2pEmu.Drivers.Nvme;
using P2pEmu.Drivers.Rdma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Integration.Tests.Rdma;
using P2pEmu.Machine.Scenarios;
using Xunit;

namespace P2pEmu.Integration.Tests.Diagnostics;

/// <summary>The NVMe, NIC and DMA EventSources emit what their layers do, with the payloads their docs describe.</summary>
[Collection(ProcessWideStateCollection.Name)]
public sealed class LayerEventTests
{
    private const int OddBytes = 12 << 10;

    [Fact]
    public void Nvme_ASentRead_IsOneSetupAndOneCompletion_OnItsQueue_WithItsBytesAndALatency()
    {
        using var listener = new RecordingListener("P2pEmu.Nvme");
        using Machine.Machine machine = Machine.Machine.Load("default");
        NvmeDev dev = machine.NvmeDrivers["nvme1"];
        BlockDevice disk = machine.BlockDevices["nvme1n1"];
        int order = HostPageAllocator.OrderForBytes(OddBytes);
        ulong pages = machine.Pages.AllocPages(order).Value;

        Assert.Equal(OddBytes, disk.ReadDirect(0, [.. Enumerable.Range(0, 3).Select(i => new PhysAddress(pages + ((ulong)i * 4096)))], 0, OddBytes).Value);

        machine.Pages.FreePages(pages, order);
        bool Mine(long queue) => queue >> 16 == dev.Instance && (queue & 0xFFFF) > 0; // an I/O queue of this controller
        var setup = listener.Where("SetupCmd", p => Mine(p[0]) && p[2] == OddBytes);
        long command = Assert.Single(setup).Payload![1] is long c ? c : 0;
        Assert.Equal(NvmeOpcode.CmdRead, (command >> 8) & 0xFF);
        Assert.Equal(0, command & 1); // host pages, not P2P
        long commandId = command >> 16;
        var completion = Assert.Single(listener.Where("CompleteRq", p => p[0] == (long)setup[0].Payload![0]! && p[1] >> 32 == commandId));
        long status = (long)completion.Payload![1]!;
        Assert.Equal(NvmeOpcode.CmdRead, (status >> 16) & 0xFF);
        Assert.Equal(0, status & 0xFFFF);
        Assert.True((long)completion.Payload[2]! > 0);
    }

    [Fact]
    public void Nic_AnRdmaWrite_IsAPostAndASuccessfulSendCompletion_WithALatency()
    {
        using var listener = new RecordingListener("P2pEmu.Nic");
        using var rig = new RdmaRig();
        RdmaRig.RegisteredBuffer source = rig.HostBuffer(rig.A, RdmaRig.MiB);
        RdmaRig.RegisteredBuffer target = rig.HostBuffer(rig.B, RdmaRig.MiB);

        IbWc wc = RdmaRig.Run(rig.A, new IbSendWr { Opcode = IbWrOpcode.RdmaWrite, SgList = [source.Sge(0, OddBytes + 1)], RemoteAddr = target.Mr.Iova, Rkey = target.Mr.Rkey });

        Assert.Equal(IbWcStatus.Success, wc.Status);
        long qp = ((long)rig.A.Dev.Instance << 24) | rig.A.Qp.QpNum;
        var post = Assert.Single(listener.Where("PostSend", p => p[0] == qp && p[2] == OddBytes + 1));
        Assert.Equal((long)IbWrOpcode.RdmaWrite, (long)post.Payload![1]! >> 32);
        var completion = Assert.Single(listener.Where("SendCompletion", p => p[0] == qp));
        long status = (long)completion.Payload![1]!;
        Assert.Equal((long)IbWcOpcode.RdmaWrite, status >> 8);
        Assert.Equal((long)IbWcStatus.Success, status & 0xFF);
        Assert.True((long)completion.Payload[2]! > 0);
    }

    [Fact]
    public void Dma_TheRdmaScenario_AttachesMapsNotifiesAndDetachesItsDmaBufs_AndCachesVerdicts_AndARemovalTearsDown()
    {
        using var listener = new RecordingListener("P2pEmu.Dma");
        using Machine.Machine machine = Machine.Machine.Load("default");
        PciFunction nic1 = machine.Fabric["nic1"];
        long importer = ((long)nic1.HostBridge.Segment << 16) | nic1.Bdf.Value;

        Assert.All(RdmaScenario.Run(machine), check => Assert.True(check.Expected && check.IntegrityOk, check.ToString()));

        long dmabuf = (long)Assert.Single(listener.Where("DmaBufAttach", p => p[1] == importer && p[2] == 1)).Payload![0]!; // dynamic: ib_umem_dmabuf
        Assert.Contains(listener.Where("DmaBufMap", p => p[0] == dmabuf && p[1] == importer), e => (long)e.Payload![2]! == RdmaScenario.DefaultBytesPerTransfer);
        Assert.Contains(listener.Where("DmaBufNotify", p => p[0] == dmabuf), e => (long)e.Payload![1]! == 1); // the revoke told the one importer
        Assert.Single(listener.Where("DmaBufDetach", p => p[0] == dmabuf && p[1] == importer));
        PciFunction nvme2 = machine.Fabric["nvme2"];
        long refusedProvider = ((long)nvme2.HostBridge.Segment << 16) | nvme2.Bdf.Value;
        var verdict = Assert.Single(listener.Where("MapType", p => p[0] == refusedProvider && p[1] == importer));
        long mapTypeAndDistance = (long)verdict.Payload![2]!;
        Assert.Equal((long)P2pEmu.Dma.P2pDma.PciP2pdmaMapType.NotSupported, mapTypeAndDistance >> 32);
        Assert.Equal(6, unchecked((int)mapTypeAndDistance)); // no common upstream: nvme2, sw1.dp0, sw1.up, rp4 and nic1, rp2

        PciFunction nvme1 = machine.Fabric["nvme1"];
        machine.NvmeDriver.Remove(machine.NvmeDrivers["nvme1"]);

        long provider = ((long)nvme1.HostBridge.Segment << 16) | nvme1.Bdf.Value;
        var teardown = Assert.Single(listener.Where("ProviderTeardown", p => p[0] == provider));
        Assert.Equal(64L << 20, (long)teardown.Payload![1]!);
    }
}
