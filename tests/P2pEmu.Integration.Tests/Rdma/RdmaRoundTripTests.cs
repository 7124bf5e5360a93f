using System;
using P2pEmu.Drivers.Rdma;
using P2pEmu.Emulator.Fabric;
using Xunit;
using static P2pEmu.Integration.Tests.Rdma.RdmaRig;

namespace P2pEmu.Integration.Tests.Rdma;

/// <summary>RDMA WRITE, READ and SEND between the two NICs, checked byte for byte with XxHash3.</summary>
public sealed class RdmaRoundTripTests
{
    [Theory]
    [InlineData("off", 4096, 1 << 20)]
    [InlineData("off", 1024, 12345)]
    [InlineData("translate", 4096, 1 << 20)]
    [InlineData("translate", 256, 4097)]
    public void RdmaWrite_HostToHost_LandsEveryByte_AndCompletesBothWays(string iommu, int mtu, int length)
    {
        using var rig = new RdmaRig(iommu, mtu: mtu);
        RegisteredBuffer source = rig.HostBuffer(rig.A, 2 * MiB);
        RegisteredBuffer target = rig.HostBuffer(rig.B, 2 * MiB);
        byte[] data = Pattern(length, length);
        source.Write(100, data);

        IbWc wc = Run(rig.A, new IbSendWr { WrId = 7, Opcode = IbWrOpcode.RdmaWrite, SgList = [source.Sge(100, (uint)length)], RemoteAddr = target.Mr.Iova + 300, Rkey = target.Mr.Rkey });

        Assert.Equal(IbWcStatus.Success, wc.Status);
        Assert.Equal(IbWcOpcode.RdmaWrite, wc.Opcode);
        Assert.Equal(7UL, wc.WrId);
        Assert.Equal(Hash(data), Hash(target.Read(300, length)));
        Assert.Equal(new byte[300], target.Read(0, 300));
        Assert.Equal(new byte[64], target.Read(300 + (ulong)length, 64));
        Assert.Empty(rig.B.Drain());
    }

    [Theory]
    [InlineData("off")]
    [InlineData("translate")]
    public void RdmaRead_PullsRemoteBytes_IntoLocalMemory(string iommu)
    {
        using var rig = new RdmaRig(iommu, mtu: 1024);
        RegisteredBuffer local = rig.HostBuffer(rig.A, MiB);
        RegisteredBuffer remote = rig.HostBuffer(rig.B, MiB);
        byte[] data = Pattern(300_001, 3);
        remote.Write(5, data);

        IbWc wc = Run(rig.A, new IbSendWr { WrId = 9, Opcode = IbWrOpcode.RdmaRead, SgList = [local.Sge(11, 300_001)], RemoteAddr = remote.Mr.Iova + 5, Rkey = remote.Mr.Rkey });

        Assert.Equal(IbWcStatus.Success, wc.Status);
        Assert.Equal(IbWcOpcode.RdmaRead, wc.Opcode);
        Assert.Equal(300_001u, wc.ByteLen);
        Assert.Equal(Hash(data), Hash(local.Read(11, data.Length)));
    }

    [Fact]
    public void Send_ScattersIntoThePostedReceive_WithImmediate_AndTwoSges()
    {
        using var rig = new RdmaRig(mtu: 512);
        RegisteredBuffer source = rig.HostBuffer(rig.A, MiB);
        RegisteredBuffer sink = rig.HostBuffer(rig.B, MiB);
        byte[] data = Pattern(5000, 5);
        source.Write(0, data.AsSpan(0, 3000));
        source.Write(10_000, data.AsSpan(3000));
        Assert.Equal(P2pEmu.Emulator.Host.Errno.None, rig.B.Dev.PostRecv(rig.B.Qp, new IbRecvWr { WrId = 55, SgList = [sink.Sge(0, 1000), sink.Sge(4096, 8192)] }));

        IbWc sent = Run(rig.A, new IbSendWr
        {
            WrId = 1, Opcode = IbWrOpcode.SendWithImm, ImmData = 0xC0FFEE, SgList = [source.Sge(0, 3000), source.Sge(10_000, 2000)],
        });
        IbWc received = rig.B.Next();

        Assert.Equal(IbWcStatus.Success, sent.Status);
        Assert.Equal(IbWcOpcode.Send, sent.Opcode);
        Assert.Equal(IbWcStatus.Success, received.Status);
        Assert.Equal(IbWcOpcode.Recv, received.Opcode);
        Assert.Equal(55UL, received.WrId);
        Assert.Equal(5000u, received.ByteLen);
        Assert.True(received.WithImm);
        Assert.Equal(0xC0FFEEu, received.ImmData);
        Assert.Equal(rig.A.Qp.QpNum, received.SrcQp);
        Assert.Equal(Hash(data.AsSpan(0, 1000)), Hash(sink.Read(0, 1000)));
        Assert.Equal(Hash(data.AsSpan(1000)), Hash(sink.Read(4096, 4000)));
    }

    [Fact]
    public void RdmaWriteWithImmediate_ConsumesAReceive_AndReportsTheImmediate()
    {
        using var rig = new RdmaRig(mtu: 1024);
        RegisteredBuffer source = rig.HostBuffer(rig.A, MiB);
        RegisteredBuffer target = rig.HostBuffer(rig.B, MiB);
        byte[] data = Pattern(2500, 6);
        source.Write(0, data);
        Assert.Equal(P2pEmu.Emulator.Host.Errno.None, rig.B.Dev.PostRecv(rig.B.Qp, new IbRecvWr { WrId = 77 }));

        IbWc sent = Run(rig.A, new IbSendWr { Opcode = IbWrOpcode.RdmaWriteWithImm, ImmData = 42, SgList = [source.Sge(0, 2500)], RemoteAddr = target.Mr.Iova, Rkey = target.Mr.Rkey });
        IbWc received = rig.B.Next();

        Assert.Equal(IbWcStatus.Success, sent.Status);
        Assert.Equal(IbWcOpcode.RecvRdmaWithImm, received.Opcode);
        Assert.Equal(77UL, received.WrId);
        Assert.Equal(42u, received.ImmData);
        Assert.Equal(Hash(data), Hash(target.Read(0, 2500)));
    }

    [Fact]
    public void RdmaWrite_IntoAPeerCmbBehindTheSameSwitch_IsSwitchPeerToPeer()
    {
        using var rig = new RdmaRig("translate");
        RegisteredBuffer source = rig.HostBuffer(rig.B, 2 * MiB);
        RegisteredBuffer cmb = rig.CmbBuffer(rig.A, "nvme0", 2 * MiB);
        byte[] data = Pattern((int)MiB, 8);
        source.Write(0, data);
        long switchBytes = rig.Machine.Fabric.BytesOnPath(RoutePath.SwitchPeer);

        IbWc wc = Run(rig.B, new IbSendWr { Opcode = IbWrOpcode.RdmaWrite, SgList = [source.Sge(0, (uint)MiB)], RemoteAddr = cmb.Mr.Iova + 4096, Rkey = cmb.Mr.Rkey });

        Assert.Equal(IbWcStatus.Success, wc.Status);
        Assert.True(cmb.Sgt!.Entries[0].IsBusAddress);
        Assert.Equal(Hash(data), Hash(cmb.Read(4096, data.Length)));
        Assert.True(rig.Machine.Fabric.BytesOnPath(RoutePath.SwitchPeer) - switchBytes >= (long)MiB);
    }

    [Fact]
    public void RdmaWrite_IntoAPeerCmbThroughTheHostBridge_UsesIovasTheIommuTranslates()
    {
        using var rig = new RdmaRig("translate");
        RegisteredBuffer source = rig.HostBuffer(rig.A, 2 * MiB);
        RegisteredBuffer cmb = rig.CmbBuffer(rig.B, "nvme1", 2 * MiB);
        byte[] data = Pattern((int)MiB + 17, 9);
        source.Write(0, data);

        IbWc wc = Run(rig.A, new IbSendWr { Opcode = IbWrOpcode.RdmaWrite, SgList = [source.Sge(0, (uint)data.Length)], RemoteAddr = cmb.Mr.Iova, Rkey = cmb.Mr.Rkey });

        Assert.Equal(IbWcStatus.Success, wc.Status);
        Assert.False(cmb.Sgt!.Entries[0].IsBusAddress);
        Assert.NotEqual(cmb.Address, cmb.Sgt.Entries[0].DmaAddress.Value);
        Assert.Equal(Hash(data), Hash(cmb.Read(0, data.Length)));
    }

    [Fact]
    public void RdmaRead_OutOfAPeerCmb_IntoHostMemory()
    {
        using var rig = new RdmaRig("translate");
        RegisteredBuffer cmb = rig.CmbBuffer(rig.A, "nvme0", MiB);
        RegisteredBuffer local = rig.HostBuffer(rig.B, MiB);
        byte[] data = Pattern(777_777, 10);
        cmb.Write(0, data);

        IbWc wc = Run(rig.B, new IbSendWr { Opcode = IbWrOpcode.RdmaRead, SgList = [local.Sge(0, (uint)data.Length)], RemoteAddr = cmb.Mr.Iova, Rkey = cmb.Mr.Rkey });

        Assert.Equal(IbWcStatus.Success, wc.Status);
        Assert.Equal(Hash(data), Hash(local.Read(0, data.Length)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RunsAndSegmentedFrames_DeliverTheSameBytes_AndCountTheSameFrames(bool segment)
    {
        using var rig = new RdmaRig("translate", mtu: 1024);
        var link = rig.Machine.NicLinks[0].Link;
        link.SegmentRuns = segment;
        RegisteredBuffer source = rig.HostBuffer(rig.A, MiB);
        RegisteredBuffer target = rig.HostBuffer(rig.B, MiB);
        byte[] data = Pattern(50_000, 11);
        source.Write(3, data);

        Assert.Equal(IbWcStatus.Success, Run(rig.A, new IbSendWr { Opcode = IbWrOpcode.RdmaWrite, SgList = [source.Sge(3, 50_000)], RemoteAddr = target.Mr.Iova + 7, Rkey = target.Mr.Rkey }).Status);
        Assert.Equal(IbWcStatus.Success, Run(rig.A, new IbSendWr { Opcode = IbWrOpcode.RdmaRead, SgList = [source.Sge(100_000, 50_000)], RemoteAddr = target.Mr.Iova + 7, Rkey = target.Mr.Rkey }).Status);

        Assert.Equal(Hash(data), Hash(target.Read(7, data.Length)));
        Assert.Equal(Hash(data), Hash(source.Read(100_000, data.Length)));
        // 49 WRITE packets (48 x 1024 + 848) and an ACK; a READ request and 49 response packets.
        Assert.Equal(49 + 1 + 1 + 49, link.FramesDelivered);
    }
}
