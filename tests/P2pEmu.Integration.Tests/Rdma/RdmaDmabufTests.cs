using System;
using P2pEmu.Drivers.Rdma;
using P2pEmu.Emulator.Host;
using Xunit;
using static P2pEmu.Integration.Tests.Rdma.RdmaRig;

namespace P2pEmu.Integration.Tests.Rdma;

/// <summary>
/// An accelerator's memory exported by vfio-pci as a dma-buf and imported by the RDMA NIC (spec §7.2): dynamic
/// regions with move_notify and page faults, revoke, the pinned variant, and every registration error.
/// </summary>
public sealed class RdmaDmabufTests
{
    private const ulong Offset = 64 * 1024;
    private const ulong Length = 4 * MiB;

    [Theory]
    [InlineData("off", "nic0")] // same switch: BUS_ADDR
    [InlineData("translate", "nic1")] // through the host bridge: IOVAs
    public void RdmaWrite_IntoAcceleratorMemory_ThroughADynamicDmabufRegion(string iommu, string importer)
    {
        using var rig = new RdmaRig(iommu);
        var accel = new AccelDmabuf(rig, Offset, Length);
        Side target = importer == "nic0" ? rig.A : rig.B;
        Side source = importer == "nic0" ? rig.B : rig.A;
        IbMr mr = target.Dev.RegUserMrDmabuf(target.Pd, 8192, MiB, 0x7000_2000, accel.User, accel.Fd, AllAccess).Value;
        RegisteredBuffer local = rig.HostBuffer(source, 2 * MiB);
        byte[] data = Pattern((int)MiB - 100, 21);
        local.Write(0, data);

        IbWc wc = Run(source, new IbSendWr { Opcode = IbWrOpcode.RdmaWrite, SgList = [local.Sge(0, (uint)data.Length)], RemoteAddr = mr.Iova + 50, Rkey = mr.Rkey });

        Assert.Equal(IbWcStatus.Success, wc.Status);
        Assert.Equal(IbMrKind.DmabufDynamic, mr.Kind);
        Assert.Equal(Hash(data), Hash(accel.Memory(Offset + 8192 + 50, data.Length)));
        Assert.Equal(1, mr.PageFaults); // the registration's own fault-in
    }

    [Fact]
    public void RdmaRead_OutOfAcceleratorMemory()
    {
        using var rig = new RdmaRig("translate");
        var accel = new AccelDmabuf(rig, Offset, Length);
        IbMr mr = rig.B.Dev.RegUserMrDmabuf(rig.B.Pd, 0, Length, 0x5000_0000, accel.User, accel.Fd, AllAccess).Value;
        byte[] data = Pattern(654_321, 22);
        data.CopyTo(accel.Memory(Offset + 4096, data.Length));
        RegisteredBuffer local = rig.HostBuffer(rig.A, MiB);

        IbWc wc = Run(rig.A, new IbSendWr { Opcode = IbWrOpcode.RdmaRead, SgList = [local.Sge(0, (uint)data.Length)], RemoteAddr = mr.Iova + 4096, Rkey = mr.Rkey });

        Assert.Equal(IbWcStatus.Success, wc.Status);
        Assert.Equal(Hash(data), Hash(local.Read(0, data.Length)));
    }

    [Fact]
    public void MoveNotify_ZapsTheTranslation_AndTheNextAccessFaultsItBack()
    {
        using var rig = new RdmaRig("translate");
        var accel = new AccelDmabuf(rig, Offset, Length);
        IbMr mr = rig.B.Dev.RegUserMrDmabuf(rig.B.Pd, 0, Length, 0x5000_0000, accel.User, accel.Fd, AllAccess).Value;
        RegisteredBuffer local = rig.HostBuffer(rig.A, MiB);
        byte[] data = Pattern(100_000, 23);
        local.Write(0, data);
        P2pEmu.Dma.DmaBuf.DmaBuf dmabuf = mr.UmemDmabuf!.DmaBuf;

        Assert.Equal(Errno.None, dmabuf.Resv.Lock());
        Assert.Equal(Errno.None, rig.Machine.DmaBuf.DmaBufMoveNotify(dmabuf));
        Assert.Equal(Errno.None, dmabuf.Resv.Unlock());
        Assert.Null(mr.UmemDmabuf.Sgt);
        long faults = rig.Machine.Nics["nic1"].PageFaults;

        IbWc wc = Run(rig.A, new IbSendWr { Opcode = IbWrOpcode.RdmaWrite, SgList = [local.Sge(0, (uint)data.Length)], RemoteAddr = mr.Iova, Rkey = mr.Rkey });

        Assert.Equal(IbWcStatus.Success, wc.Status);
        Assert.Equal(faults + 1, rig.Machine.Nics["nic1"].PageFaults);
        Assert.Equal(2, mr.PageFaults);
        Assert.Equal(0, mr.PageFaultFailures);
        Assert.NotNull(mr.UmemDmabuf.Sgt);
        Assert.Equal(Hash(data), Hash(accel.Memory(Offset, data.Length)));
    }

    [Fact]
    public void LocalDmabufRegion_FaultsBackForASend_AfterMoveNotify()
    {
        using var rig = new RdmaRig("translate");
        var accel = new AccelDmabuf(rig, Offset, Length);
        IbMr mr = rig.A.Dev.RegUserMrDmabuf(rig.A.Pd, 0, MiB, 0x3000_0000, accel.User, accel.Fd, AllAccess).Value;
        byte[] data = Pattern(9000, 24);
        data.CopyTo(accel.Memory(Offset, data.Length));
        RegisteredBuffer sink = rig.HostBuffer(rig.B, MiB);
        Assert.Equal(Errno.None, rig.B.Dev.PostRecv(rig.B.Qp, new IbRecvWr { WrId = 3, SgList = [sink.Sge(0, 16384)] }));
        P2pEmu.Dma.DmaBuf.DmaBuf dmabuf = mr.UmemDmabuf!.DmaBuf;
        dmabuf.Resv.Lock();
        rig.Machine.DmaBuf.DmaBufMoveNotify(dmabuf);
        dmabuf.Resv.Unlock();

        IbWc sent = Run(rig.A, new IbSendWr { Opcode = IbWrOpcode.Send, SgList = [new IbSge(mr.Iova, 9000, mr.Lkey)] });

        Assert.Equal(IbWcStatus.Success, sent.Status);
        Assert.Equal(9000u, rig.B.Next().ByteLen);
        Assert.Equal(Hash(data), Hash(sink.Read(0, 9000)));
        Assert.Equal(2, mr.PageFaults);
    }

    [Fact]
    public void AfterTheExporterRevokes_RdmaFailsWithRemoteAccessError_AndNoByteReachesTheMemory()
    {
        using var rig = new RdmaRig("translate");
        var accel = new AccelDmabuf(rig, Offset, Length);
        IbMr mr = rig.B.Dev.RegUserMrDmabuf(rig.B.Pd, 0, Length, 0x5000_0000, accel.User, accel.Fd, AllAccess).Value;
        RegisteredBuffer local = rig.HostBuffer(rig.A, MiB);
        local.Write(0, Pattern((int)MiB, 25));
        byte[] before = accel.Memory(Offset, (int)MiB).ToArray();

        accel.CloseDevice();
        IbWc wc = Run(rig.A, new IbSendWr { Opcode = IbWrOpcode.RdmaWrite, SgList = [local.Sge(0, (uint)MiB)], RemoteAddr = mr.Iova, Rkey = mr.Rkey });

        Assert.Equal(IbWcStatus.RemAccessErr, wc.Status);
        Assert.Equal(Errno.ENODEV, mr.LastFaultError); // the exporter's map while revoked
        Assert.Equal(1, mr.PageFaultFailures);
        Assert.True(mr.UmemDmabuf!.DmaBuf.Attachments.Count <= 1);
        Assert.Equal(Hash(before), Hash(accel.Memory(Offset, (int)MiB)));
        Assert.Equal(IbWcStatus.WrFlushErr, Run(rig.A, new IbSendWr { Opcode = IbWrOpcode.RdmaWrite, SgList = [local.Sge(0, 8)], RemoteAddr = mr.Iova, Rkey = mr.Rkey }).Status);
    }

    [Fact]
    public void AfterRevoke_ALocalDmabufRegion_FailsWithLocalProtectionError()
    {
        using var rig = new RdmaRig("translate");
        var accel = new AccelDmabuf(rig, Offset, Length);
        IbMr mr = rig.A.Dev.RegUserMrDmabuf(rig.A.Pd, 0, MiB, 0x3000_0000, accel.User, accel.Fd, AllAccess).Value;
        RegisteredBuffer remote = rig.HostBuffer(rig.B, MiB);
        byte[] before = accel.Memory(Offset, 4096).ToArray();
        remote.Write(0, Pattern(4096, 26));

        accel.CloseDevice();
        IbWc wc = Run(rig.A, new IbSendWr { Opcode = IbWrOpcode.RdmaRead, SgList = [new IbSge(mr.Iova, 4096, mr.Lkey)], RemoteAddr = remote.Mr.Iova, Rkey = remote.Mr.Rkey });

        Assert.Equal(IbWcStatus.LocProtErr, wc.Status);
        Assert.Equal(Errno.ENODEV, mr.LastFaultError);
        Assert.Equal(before, accel.Memory(Offset, 4096).ToArray());
    }

    [Theory]
    [InlineData("6.19")]
    [InlineData("revoke-2026")]
    public void PinnedImport_IsRefusedByTheVfioExporter(string kernel)
    {
        using var rig = new RdmaRig("translate", kernel: kernel);
        var accel = new AccelDmabuf(rig, Offset, Length);

        Result<IbMr> mr = rig.B.Dev.RegUserMrDmabufPinned(rig.B.Pd, 0, MiB, 0x5000_0000, accel.User, accel.Fd, AllAccess);

        Assert.Equal(Errno.EOPNOTSUPP, mr.Error);
        Assert.DoesNotContain(rig.B.Dev.Mrs, m => m.Kind == IbMrKind.DmabufPinned);
    }

    [Fact]
    public void DmabufRegistration_Errors_FollowIbUmemDmabufGet()
    {
        using var rig = new RdmaRig("translate");
        var accel = new AccelDmabuf(rig, Offset, Length);
        RdmaDev dev = rig.B.Dev;
        IbPd pd = rig.B.Pd;

        Assert.Equal(Errno.EINVAL, dev.RegUserMrDmabuf(pd, ulong.MaxValue - 4095, 8192, ulong.MaxValue - 4095, accel.User, accel.Fd, AllAccess).Error); // offset + size overflows
        Assert.Equal(Errno.EINVAL, dev.RegUserMrDmabuf(pd, 4096, Length, 4096, accel.User, accel.Fd, AllAccess).Error); // past the buffer's end
        Assert.Equal(Errno.EINVAL, dev.RegUserMrDmabuf(pd, 0, 0, 0, accel.User, accel.Fd, AllAccess).Error); // no page
        Assert.Equal(Errno.EBADF, dev.RegUserMrDmabuf(pd, 0, 4096, 0, accel.User, 999, AllAccess).Error);
        Assert.Equal(Errno.EINVAL, dev.RegUserMrDmabuf(pd, 0, 4096, 0, accel.User, accel.DeviceFd, AllAccess).Error); // not a dma-buf
        Assert.Equal(Errno.EINVAL, dev.RegUserMrDmabuf(pd, 0, 4096, 0x100, accel.User, accel.Fd, AllAccess).Error); // page offsets differ
        Assert.Equal(Errno.EINVAL, dev.RegUserMrDmabuf(pd, 0, 4096, 0, accel.User, accel.Fd, IbAccessFlags.RemoteWrite).Error); // remote write without local write
        accel.CloseDevice();
        Assert.Equal(Errno.ENODEV, dev.RegUserMrDmabuf(pd, 0, 4096, 0, accel.User, accel.Fd, AllAccess).Error); // vfio refuses to attach a revoked buffer
        Assert.DoesNotContain(dev.Mrs, m => m.Kind == IbMrKind.DmabufDynamic);
    }

    [Fact]
    public void AfterTheImporterRevokes_MapPagesFailsWithEinval()
    {
        using var rig = new RdmaRig("translate");
        var accel = new AccelDmabuf(rig, Offset, Length);
        IbMr mr = rig.B.Dev.RegUserMrDmabuf(rig.B.Pd, 0, MiB, 0x5000_0000, accel.User, accel.Fd, AllAccess).Value;
        IbUmemDmabuf umem = mr.UmemDmabuf!;

        umem.Revoke();
        umem.DmaBuf.Resv.Lock();
        Errno mapped = umem.MapPages();
        umem.DmaBuf.Resv.Unlock();

        Assert.Equal(Errno.EINVAL, mapped);
        Assert.True(umem.IsRevoked);
        Assert.Null(umem.Sgt);
        Assert.Throws<System.InvalidOperationException>(() => umem.MapPages()); // without the reservation lock: a driver bug
    }

    [Fact]
    public void MapPages_TrimsTheTableToTheRegionsPages()
    {
        using var rig = new RdmaRig("off");
        var accel = new AccelDmabuf(rig, Offset, Length);
        const ulong start = 3 * 4096 + 100;
        const ulong length = 2 * 4096;

        IbMr mr = rig.B.Dev.RegUserMrDmabuf(rig.B.Pd, start, length, 0x6000_0000 + (start & 4095), accel.User, accel.Fd, AllAccess).Value;

        IbUmemDmabuf umem = mr.UmemDmabuf!;
        P2pEmu.Emulator.Fabric.SgEntry[] table = [.. umem.Sgt!.DmaSegments()];
        ulong bar = accel.Accel.GetBar(1)!.Address;
        Assert.Equal(bar + Offset, table[0].Address.Value); // the exporter's table: the whole buffer from its start
        P2pEmu.Emulator.Fabric.SgEntry trimmed = Assert.Single(umem.DmaSegments);
        Assert.Equal(bar + Offset + (3 * 4096), trimmed.Address.Value); // from align_down(offset)
        Assert.Equal(3 * 4096UL, trimmed.Length); // to align_up(offset + length): three pages
        Assert.Equal(3u, mr.MttEntries);
    }

    [Fact]
    public void IbUmemDmabufGet_NeedsImporterOpsWithANotifyCallback_AndReleaseDetaches()
    {
        using var rig = new RdmaRig("translate");
        var accel = new AccelDmabuf(rig, Offset, Length);
        RdmaDev dev = rig.B.Dev;
        var noNotify = new P2pEmu.Dma.DmaBuf.DmaBufAttachOps { AllowPeer2Peer = true };
        var ops = new P2pEmu.Dma.DmaBuf.DmaBufAttachOps { AllowPeer2Peer = true, InvalidateMappings = _ => { } };

        Assert.Equal(Errno.EINVAL, dev.IbUmemDmabufGet(0, MiB, accel.User, accel.Fd, null).Error);
        Assert.Equal(Errno.EINVAL, dev.IbUmemDmabufGet(0, MiB, accel.User, accel.Fd, noNotify).Error);
        IbUmemDmabuf umem = dev.IbUmemDmabufGet(0, MiB, accel.User, accel.Fd, ops).Value;
        Assert.Single(umem.DmaBuf.Attachments);
        Assert.Null(umem.Sgt); // attached, not mapped until map_pages
        umem.Release();

        Assert.Empty(umem.DmaBuf.Attachments);
        Assert.True(umem.IsRevoked);
    }

    [Fact]
    public void MapPages_WaitsForTheKernelFences_BeforeTheRegionIsUsedAgain()
    {
        using var rig = new RdmaRig("translate");
        var accel = new AccelDmabuf(rig, Offset, Length);
        IbMr mr = rig.B.Dev.RegUserMrDmabuf(rig.B.Pd, 0, MiB, 0x5000_0000, accel.User, accel.Fd, AllAccess).Value;
        IbUmemDmabuf umem = mr.UmemDmabuf!;
        var move = new P2pEmu.Dma.DmaBuf.DmaFence("move");
        umem.DmaBuf.Resv.Lock();
        rig.Machine.DmaBuf.DmaBufMoveNotify(umem.DmaBuf); // unmapped: the next access must map again
        Assert.Equal(Errno.None, umem.DmaBuf.Resv.AddFence(move, P2pEmu.Dma.DmaBuf.DmaResvUsage.Kernel));
        umem.DmaBuf.Resv.Unlock();
        bool signaledWhenMapped = false;

        var mapper = new System.Threading.Thread(() =>
        {
            umem.DmaBuf.Resv.Lock();
            Errno mapped = umem.MapPages();
            signaledWhenMapped = mapped == Errno.None && move.IsSignaled;
            umem.DmaBuf.Resv.Unlock();
        });
        mapper.Start();
        while (move.Waiters == 0 && mapper.IsAlive)
        {
            System.Threading.Thread.Yield();
        }

        move.Signal();
        Assert.True(mapper.Join(System.TimeSpan.FromSeconds(30)));

        Assert.True(signaledWhenMapped);
        Assert.NotNull(umem.Sgt);
    }
}
