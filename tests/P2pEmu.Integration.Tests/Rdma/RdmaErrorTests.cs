using P2pEmu.Dma.Mapping;
using P2pEmu.Drivers.Rdma;
using P2pEmu.Emulator.Host;
using Xunit;
using static P2pEmu.Integration.Tests.Rdma.RdmaRig;

namespace P2pEmu.Integration.Tests.Rdma;

/// <summary>Errors as an RC NIC reports them: completions and QP states, never exceptions, and nothing written out of place.</summary>
public sealed class RdmaErrorTests
{
    private static IbSendWr Write(RegisteredBuffer local, uint length, ulong remote, uint rkey, ulong wrId = 1) =>
        new() { WrId = wrId, Opcode = IbWrOpcode.RdmaWrite, SgList = [local.Sge(0, length)], RemoteAddr = remote, Rkey = rkey };

    [Fact]
    public void BadRkey_IsARemoteAccessError_AndLaterWorkIsFlushed()
    {
        using var rig = new RdmaRig();
        RegisteredBuffer local = rig.HostBuffer(rig.A, MiB);
        RegisteredBuffer remote = rig.HostBuffer(rig.B, MiB);

        IbWc bad = Run(rig.A, Write(local, 4096, remote.Mr.Iova, remote.Mr.Rkey + 0x100));
        Assert.Equal(Errno.None, rig.A.Dev.PostSend(rig.A.Qp, Write(local, 4096, remote.Mr.Iova, remote.Mr.Rkey, wrId: 2)));
        IbWc flushed = rig.A.Next();

        Assert.Equal(IbWcStatus.RemAccessErr, bad.Status);
        Assert.Equal(IbWcStatus.WrFlushErr, flushed.Status);
        Assert.Equal(2UL, flushed.WrId);
        Assert.Equal(new byte[4096], remote.Read(0, 4096));
    }

    [Theory]
    [InlineData(MiB - 100, 200u)] // runs past the region's end
    [InlineData(0UL, (uint)(MiB + 1))] // longer than the region
    public void RemoteRangeOutsideTheRegion_IsARemoteAccessError_AndWritesNothing(ulong offset, uint length)
    {
        using var rig = new RdmaRig();
        RegisteredBuffer local = rig.HostBuffer(rig.A, 2 * MiB);
        RegisteredBuffer remote = rig.HostBuffer(rig.B, MiB);
        local.Write(0, Pattern((int)length, 40));

        IbWc wc = Run(rig.A, Write(local, length, remote.Mr.Iova + offset, remote.Mr.Rkey));

        Assert.Equal(IbWcStatus.RemAccessErr, wc.Status);
        Assert.Equal(new byte[MiB], remote.Read(0, (int)MiB));
    }

    [Fact]
    public void RegionWithoutRemoteRights_RefusesWriteAndRead()
    {
        using var rig = new RdmaRig();
        RegisteredBuffer local = rig.HostBuffer(rig.A, MiB);
        RegisteredBuffer readOnly = rig.HostBuffer(rig.B, MiB, IbAccessFlags.LocalWrite | IbAccessFlags.RemoteRead);
        RegisteredBuffer writeOnly = rig.HostBuffer(rig.B, MiB, IbAccessFlags.LocalWrite | IbAccessFlags.RemoteWrite, iova: 0x9000_0000);

        Assert.Equal(IbWcStatus.RemAccessErr, Run(rig.A, Write(local, 64, readOnly.Mr.Iova, readOnly.Mr.Rkey)).Status);
        RdmaRig.Connect(rig.A, rig.B, 4096);
        RdmaRig.Connect(rig.B, rig.A, 4096);
        IbWc read = Run(rig.A, new IbSendWr { Opcode = IbWrOpcode.RdmaRead, SgList = [local.Sge(0, 64)], RemoteAddr = writeOnly.Mr.Iova, Rkey = writeOnly.Mr.Rkey });
        Assert.Equal(IbWcStatus.RemAccessErr, read.Status);
    }

    [Fact]
    public void BadLkey_OrALocalRangeOutsideTheRegion_IsALocalProtectionError()
    {
        using var rig = new RdmaRig();
        RegisteredBuffer local = rig.HostBuffer(rig.A, MiB);
        RegisteredBuffer remote = rig.HostBuffer(rig.B, MiB);

        IbWc badKey = Run(rig.A, new IbSendWr { Opcode = IbWrOpcode.RdmaWrite, SgList = [new IbSge(local.Mr.Iova, 64, local.Mr.Lkey + 0x100)], RemoteAddr = remote.Mr.Iova, Rkey = remote.Mr.Rkey });
        RdmaRig.Connect(rig.A, rig.B, 4096);
        IbWc outside = Run(rig.A, new IbSendWr { Opcode = IbWrOpcode.RdmaWrite, SgList = [new IbSge(local.Mr.Iova + MiB - 10, 64, local.Mr.Lkey)], RemoteAddr = remote.Mr.Iova, Rkey = remote.Mr.Rkey });

        Assert.Equal(IbWcStatus.LocProtErr, badKey.Status);
        Assert.Equal(IbWcStatus.LocProtErr, outside.Status);
    }

    [Fact]
    public void ReadIntoARegionWithoutLocalWrite_IsALocalProtectionError()
    {
        using var rig = new RdmaRig();
        RegisteredBuffer local = rig.HostBuffer(rig.A, MiB, IbAccessFlags.RemoteRead);
        RegisteredBuffer remote = rig.HostBuffer(rig.B, MiB);

        IbWc wc = Run(rig.A, new IbSendWr { Opcode = IbWrOpcode.RdmaRead, SgList = [local.Sge(0, 64)], RemoteAddr = remote.Mr.Iova, Rkey = remote.Mr.Rkey });

        Assert.Equal(IbWcStatus.LocProtErr, wc.Status);
    }

    [Fact]
    public void SendWithNoReceivePosted_RetriesRnr_ThenReportsRnrRetryExceeded()
    {
        using var rig = new RdmaRig();
        RdmaRig.Connect(rig.A, rig.B, 4096, rnrRetry: 3);
        RegisteredBuffer local = rig.HostBuffer(rig.A, MiB);
        long before = rig.Machine.Nics["nic0"].Retransmissions;

        IbWc wc = Run(rig.A, new IbSendWr { Opcode = IbWrOpcode.Send, SgList = [local.Sge(0, 64)] });

        Assert.Equal(IbWcStatus.RnrRetryExcErr, wc.Status);
        Assert.Equal(3, rig.Machine.Nics["nic0"].Retransmissions - before);
    }

    [Fact]
    public void SendThatWaitsOutRnr_IsDeliveredOnceTheReceiveIsPosted()
    {
        using var rig = new RdmaRig();
        RegisteredBuffer local = rig.HostBuffer(rig.A, MiB);
        RegisteredBuffer sink = rig.HostBuffer(rig.B, MiB);
        byte[] data = Pattern(64, 41);
        local.Write(0, data);

        Assert.Equal(Errno.None, rig.A.Dev.PostSend(rig.A.Qp, new IbSendWr { WrId = 5, Opcode = IbWrOpcode.Send, SgList = [local.Sge(0, 64)] }));
        Assert.Empty(rig.A.Drain()); // RNR retry 7: it waits for ever
        Assert.Equal(Errno.None, rig.B.Dev.PostRecv(rig.B.Qp, new IbRecvWr { WrId = 6, SgList = [sink.Sge(0, 64)] }));

        Assert.Equal(IbWcStatus.Success, rig.A.Next().Status);
        Assert.Equal(6UL, rig.B.Next().WrId);
        Assert.Equal(data, sink.Read(0, 64));
    }

    [Fact]
    public void SendLargerThanTheReceiveBuffer_IsAnInvalidRequest_AndALocalLengthErrorOnTheResponder()
    {
        using var rig = new RdmaRig(mtu: 1024);
        RegisteredBuffer local = rig.HostBuffer(rig.A, MiB);
        RegisteredBuffer sink = rig.HostBuffer(rig.B, MiB);
        Assert.Equal(Errno.None, rig.B.Dev.PostRecv(rig.B.Qp, new IbRecvWr { WrId = 8, SgList = [sink.Sge(0, 1500)] }));

        IbWc sent = Run(rig.A, new IbSendWr { Opcode = IbWrOpcode.Send, SgList = [local.Sge(0, 3000)] });
        IbWc received = rig.B.Next();

        Assert.Equal(IbWcStatus.RemInvReqErr, sent.Status);
        Assert.Equal(IbWcStatus.LocLenErr, received.Status);
        Assert.Equal(8UL, received.WrId);
    }

    [Fact]
    public void LinkDown_RetriesRetryCountTimes_ThenReportsRetryExceeded()
    {
        using var rig = new RdmaRig();
        RdmaRig.Connect(rig.A, rig.B, 4096, retry: 2);
        RegisteredBuffer local = rig.HostBuffer(rig.A, MiB);
        RegisteredBuffer remote = rig.HostBuffer(rig.B, MiB);
        var link = rig.Machine.NicLinks[0].Link;
        link.IsUp = false;

        IbWc wc = Run(rig.A, Write(local, 8192, remote.Mr.Iova, remote.Mr.Rkey));

        Assert.Equal(IbWcStatus.RetryExcErr, wc.Status);
        Assert.Equal(3 * 2, link.FramesDropped); // three attempts of two packets
    }

    [Fact]
    public void ResponderDmaFault_SilencesTheResponder_AndTheRequesterReportsRetryExceeded()
    {
        using var rig = new RdmaRig("translate");
        RdmaRig.Connect(rig.A, rig.B, 4096, retry: 1);
        RegisteredBuffer local = rig.HostBuffer(rig.A, MiB);
        RegisteredBuffer remote = rig.HostBuffer(rig.B, MiB);
        byte[] before = remote.Read(0, 4096);
        local.Write(0, Pattern(4096, 42));
        rig.B.Dev.IbDmaUnmapSgtable(remote.Sgt!, DmaDirection.Bidirectional); // the key still names the IOVAs: the IOMMU faults
        long faults = rig.Machine.Iommus[0].Faults.TotalCount;

        IbWc wc = Run(rig.A, Write(local, 4096, remote.Mr.Iova, remote.Mr.Rkey));

        Assert.Equal(IbWcStatus.RetryExcErr, wc.Status);
        Assert.True(rig.Machine.Iommus[0].Faults.TotalCount > faults);
        Assert.Equal(1, rig.B.Dev.QpFatalEvents);
        Assert.Equal(before, remote.Read(0, 4096));
    }

    [Fact]
    public void LocalDmaFault_IsAFatalError()
    {
        using var rig = new RdmaRig("translate");
        RegisteredBuffer local = rig.HostBuffer(rig.A, MiB);
        RegisteredBuffer remote = rig.HostBuffer(rig.B, MiB);
        rig.A.Dev.IbDmaUnmapSgtable(local.Sgt!, DmaDirection.Bidirectional);

        IbWc wc = Run(rig.A, Write(local, 4096, remote.Mr.Iova, remote.Mr.Rkey));

        Assert.Equal(IbWcStatus.FatalErr, wc.Status);
        Assert.Equal(new byte[4096], remote.Read(0, 4096));
    }

    [Fact]
    public void PostSend_RefusesWhatTheDeviceCannotTake()
    {
        using var rig = new RdmaRig();
        RegisteredBuffer local = rig.HostBuffer(rig.A, MiB);
        RegisteredBuffer remote = rig.HostBuffer(rig.B, MiB);
        IbSendWr ok = Write(local, 8, remote.Mr.Iova, remote.Mr.Rkey) with { SendFlags = IbSendFlags.None };

        Assert.Equal(Errno.EINVAL, rig.A.Dev.PostSend(rig.A.Qp, ok with { SgList = [local.Sge(0, 1), local.Sge(1, 1), local.Sge(2, 1)] }));
        Assert.Equal(Errno.EINVAL, rig.A.Dev.PostSend(rig.A.Qp, ok with { SendFlags = IbSendFlags.Inline }));
        for (int i = 0; i < rig.A.Qp.SqEntries; i++)
        {
            Assert.Equal(Errno.None, rig.A.Dev.PostSend(rig.A.Qp, ok)); // unsignaled: the driver never learns they are done
        }

        Assert.Equal(Errno.ENOMEM, rig.A.Dev.PostSend(rig.A.Qp, ok));
        Assert.Equal(Errno.None, rig.A.Dev.ModifyQp(rig.A.Qp, new IbQpAttr { QpState = IbQpState.Reset }));
        Assert.Equal(Errno.EINVAL, rig.A.Dev.PostSend(rig.A.Qp, ok));
        Assert.Equal(Errno.EINVAL, rig.A.Dev.ModifyQp(rig.A.Qp, new IbQpAttr { QpState = IbQpState.Rts })); // RESET -> RTS skips INIT and RTR
    }

    [Fact]
    public void SendIntoAReceiveWqeNamingAnotherPdsRegion_IsARemoteOperationalError_AndALocalProtectionErrorOnTheResponder()
    {
        using var rig = new RdmaRig();
        RegisteredBuffer local = rig.HostBuffer(rig.A, MiB);
        ulong phys = rig.Machine.Pages.AllocPages(P2pEmu.Emulator.Host.HostPageAllocator.OrderForBytes(MiB)).Value;
        var sgt = new SgTable([new Scatterlist(new P2pEmu.Emulator.Addressing.PhysAddress(phys), (uint)MiB)]);
        Assert.Equal(Errno.None, rig.B.Dev.IbDmaMapSgtable(sgt, DmaDirection.Bidirectional));
        IbPd otherPd = rig.B.Dev.AllocPd().Value;
        IbMr foreign = rig.B.Dev.RegMrSg(otherPd, sgt, 0x9000_0000, AllAccess).Value;
        byte[] before = new byte[256];
        Assert.True(rig.Machine.Fabric.TryHostRead(phys, before));
        local.Write(0, Pattern(256, 43));
        Assert.Equal(Errno.None, rig.B.Dev.PostRecv(rig.B.Qp, new IbRecvWr { WrId = 12, SgList = [new IbSge(foreign.Iova, 256, foreign.Lkey)] }));

        IbWc sent = Run(rig.A, new IbSendWr { Opcode = IbWrOpcode.Send, SgList = [local.Sge(0, 256)] });
        IbWc received = rig.B.Next();

        byte[] after = new byte[256];
        Assert.True(rig.Machine.Fabric.TryHostRead(phys, after));
        Assert.NotEqual(rig.B.Pd.Pdn, otherPd.Pdn);
        Assert.Equal(IbWcStatus.RemOpErr, sent.Status);
        Assert.Equal(IbWcStatus.LocProtErr, received.Status);
        Assert.Equal(12UL, received.WrId);
        Assert.Equal(before, after);
    }
}
