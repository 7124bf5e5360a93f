using System.Collections.Generic;
using System.Linq;
using P2pEmu.Dma.Mm;
using P2pEmu.Drivers.Rdma;
using P2pEmu.Emulator.Host;
using Xunit;
using static P2pEmu.Integration.Tests.Rdma.RdmaRig;

namespace P2pEmu.Integration.Tests.Rdma;

/// <summary>
/// User memory regions (<c>ib_reg_user_mr</c> → <c>ib_umem_get</c>): a process's anonymous memory pinned with
/// FOLL_LONGTERM, mapped through the IOMMU for each NIC, and moved by RDMA WRITE and READ; the pins held while
/// registered and dropped by deregistration; and the registration errnos, none of which leaves a page pinned.
/// </summary>
public sealed class RdmaUserMrTests
{
    private const ulong PageBytes = 4096;
    private const ulong StartOffset = 0x123;
    private const int Length = (4 * 4096) + 77; // five pages from offset 0x123

    private static MmStruct Process(RdmaRig rig, string comm) => new(rig.Machine.Fabric, rig.Machine.Pages, comm);

    private static ulong Anonymous(MmStruct mm, ulong bytes) =>
        mm.Mmap(0, bytes, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous).Value;

    private static byte[] ReadUser(MmStruct mm, ulong address, int length)
    {
        byte[] data = new byte[length];
        Assert.Equal(Errno.None, mm.ReadUser(address, data));
        return data;
    }

    [Fact]
    public void RdmaWriteAndRead_BetweenUserBuffersWithAnUnalignedStart_ThroughTheIommu_MoveEveryByte()
    {
        using var rig = new RdmaRig("translate");
        using MmStruct mmA = Process(rig, "rdma-a");
        using MmStruct mmB = Process(rig, "rdma-b");
        ulong bufA = Anonymous(mmA, 8 * PageBytes) + StartOffset;
        ulong bufB = Anonymous(mmB, 8 * PageBytes) + StartOffset;
        byte[] outbound = Pattern(Length, 61);
        byte[] inbound = Pattern(Length, 62);
        Assert.Equal(Errno.None, mmA.WriteUser(bufA, outbound));
        IbMr mrA = rig.A.Dev.RegUserMr(rig.A.Pd, mmA, bufA, Length, 0x10_0000_0000 + StartOffset, AllAccess).Value;
        IbMr mrB = rig.B.Dev.RegUserMr(rig.B.Pd, mmB, bufB, Length, 0x20_0000_0000 + StartOffset, AllAccess).Value;

        IbWc written = Run(rig.A, new IbSendWr
        {
            WrId = 1, Opcode = IbWrOpcode.RdmaWrite, SgList = [new IbSge(mrA.Iova, Length, mrA.Lkey)], RemoteAddr = mrB.Iova, Rkey = mrB.Rkey,
        });
        Assert.Equal(Errno.None, mmB.WriteUser(bufB, inbound)); // the process writes its buffer; the pinned pages see it
        IbWc read = Run(rig.A, new IbSendWr
        {
            WrId = 2, Opcode = IbWrOpcode.RdmaRead, SgList = [new IbSge(mrA.Iova, Length, mrA.Lkey)], RemoteAddr = mrB.Iova, Rkey = mrB.Rkey,
        });

        Assert.Equal(IbWcStatus.Success, written.Status);
        Assert.Equal(IbWcStatus.Success, read.Status);
        Assert.Equal((uint)Length, read.ByteLen);
        Assert.Equal(IbMrKind.User, mrA.Kind);
        Assert.Equal(5, mrA.Umem!.Pages.Count);
        Assert.Equal(Hash(inbound), Hash(ReadUser(mmA, bufA, Length)));
        Assert.Equal(new byte[StartOffset], ReadUser(mmA, bufA - StartOffset, (int)StartOffset)); // nothing before the start
        Assert.Equal(new byte[64], ReadUser(mmA, bufA + Length, 64)); // nor after the end
        Assert.Equal(0L, rig.Machine.Iommus[0].Faults.TotalCount);
    }

    [Fact]
    public void RdmaWrite_IntoAUserRegion_IsWhatTheProcessReads()
    {
        using var rig = new RdmaRig("translate");
        using MmStruct mmA = Process(rig, "rdma-a");
        using MmStruct mmB = Process(rig, "rdma-b");
        ulong bufA = Anonymous(mmA, 8 * PageBytes) + StartOffset;
        ulong bufB = Anonymous(mmB, 8 * PageBytes) + 0x777;
        byte[] data = Pattern(Length, 63);
        Assert.Equal(Errno.None, mmA.WriteUser(bufA, data));
        IbMr mrA = rig.A.Dev.RegUserMr(rig.A.Pd, mmA, bufA, Length, 0x10_0000_0000 + StartOffset, AllAccess).Value;
        IbMr mrB = rig.B.Dev.RegUserMr(rig.B.Pd, mmB, bufB, Length + 100, 0x20_0000_0777, AllAccess).Value;

        IbWc wc = Run(rig.A, new IbSendWr
        {
            Opcode = IbWrOpcode.RdmaWrite, SgList = [new IbSge(mrA.Iova, Length, mrA.Lkey)], RemoteAddr = mrB.Iova + 50, Rkey = mrB.Rkey,
        });

        Assert.Equal(IbWcStatus.Success, wc.Status);
        Assert.Equal(Hash(data), Hash(ReadUser(mmB, bufB + 50, Length)));
        Assert.Equal(new byte[50], ReadUser(mmB, bufB, 50));
        Assert.Equal(new byte[50], ReadUser(mmB, bufB + 50 + Length, 50));
    }

    [Fact]
    public void RegisteredPages_ArePinned_AndDeregMrUnpinsThem()
    {
        using var rig = new RdmaRig("translate");
        using MmStruct mm = Process(rig, "rdma-a");
        ulong buf = Anonymous(mm, 8 * PageBytes) + StartOffset;

        IbMr mr = rig.A.Dev.RegUserMr(rig.A.Pd, mm, buf, Length, 0x10_0000_0000 + StartOffset, AllAccess).Value;
        List<Page> pages = [.. mr.Umem!.Pages];
        int[] pinnedWhileRegistered = [.. pages.Select(p => p.PinCount)];
        Errno dereg = rig.A.Dev.DeregMr(mr);

        Assert.Equal(5, pages.Count);
        Assert.All(pinnedWhileRegistered, pins => Assert.Equal(1, pins));
        Assert.Equal(pages.Select(p => p.Phys), Enumerable.Range(0, 5).Select(i => mm.FollowPte(buf - StartOffset + ((ulong)i * PageBytes))!.Phys));
        Assert.Equal(Errno.None, dereg);
        Assert.All(pages, p => Assert.Equal(0, p.PinCount));
        Assert.Empty(mr.Umem.Pages);
        Assert.DoesNotContain(rig.A.Dev.Mrs, m => m.Lkey == mr.Lkey);
        Assert.Equal(Errno.EINVAL, rig.A.Dev.DeregMr(mr));
    }

    [Fact]
    public void DeregisteredUserRegion_IsARemoteAccessError()
    {
        using var rig = new RdmaRig("translate");
        using MmStruct mm = Process(rig, "rdma-b");
        ulong buf = Anonymous(mm, 2 * PageBytes);
        IbMr target = rig.B.Dev.RegUserMr(rig.B.Pd, mm, buf, PageBytes, 0x20_0000_0000, AllAccess).Value;
        RegisteredBuffer local = rig.HostBuffer(rig.A, MiB);
        local.Write(0, Pattern(256, 64));
        Assert.Equal(Errno.None, rig.B.Dev.DeregMr(target));

        IbWc wc = Run(rig.A, new IbSendWr { Opcode = IbWrOpcode.RdmaWrite, SgList = [local.Sge(0, 256)], RemoteAddr = target.Iova, Rkey = target.Rkey });

        Assert.Equal(IbWcStatus.RemAccessErr, wc.Status);
        Assert.Equal(new byte[256], ReadUser(mm, buf, 256));
    }

    [Fact]
    public void RegUserMr_Errors_FollowIbRegUserMr_AndLeaveNothingPinned()
    {
        using var rig = new RdmaRig("translate");
        using MmStruct mm = Process(rig, "rdma-a");
        RdmaDev dev = rig.A.Dev;
        IbPd pd = rig.A.Pd;
        ulong buf = Anonymous(mm, 4 * PageBytes);
        Assert.Equal(Errno.None, mm.WriteUser(buf, new byte[4 * PageBytes])); // fault every page in, to watch their pins
        Page[] pages = [.. Enumerable.Range(0, 4).Select(i => mm.FollowPte(buf + ((ulong)i * PageBytes))!)];
        ulong hole = Anonymous(mm, 2 * PageBytes);
        Assert.Equal(Errno.None, mm.Munmap(hole, 2 * PageBytes));
        int mrsBefore = dev.Mrs.Count;

        Assert.Equal(Errno.EINVAL, dev.RegUserMr(pd, mm, buf, 0, buf, AllAccess).Error); // empty
        Assert.Equal(Errno.EINVAL, dev.RegUserMr(pd, mm, buf, PageBytes, buf, IbAccessFlags.RemoteWrite).Error); // remote write without local write
        Assert.Equal(Errno.EINVAL, dev.RegUserMr(pd, mm, buf, PageBytes, buf + 8, AllAccess).Error); // iova and start differ in page offset
        Assert.Equal(Errno.EINVAL, dev.RegUserMr(pd, mm, buf + 0x10, PageBytes, 0x10_0000_0000, AllAccess).Error);
        Assert.Equal(Errno.EFAULT, dev.RegUserMr(pd, mm, hole, PageBytes, hole, AllAccess).Error); // no VMA
        Assert.Equal(Errno.EFAULT, dev.RegUserMr(pd, mm, buf + (3 * PageBytes), 2 * PageBytes, 0x10_0000_0000, AllAccess).Error); // runs into an unmapped page

        Assert.All(pages, p => Assert.Equal(0, p.PinCount));
        Assert.Equal(mrsBefore, dev.Mrs.Count);
    }

    /// <summary>
    /// Linux's <c>ib_umem_get</c> pins with FOLL_LONGTERM and passes no FOLL_PCI_P2PDMA — it cannot: GUP's
    /// <c>is_valid_gup_args</c> refuses FOLL_LONGTERM | FOLL_PCI_P2PDMA so that a p2pmem page map stays unpluggable. So
    /// a user region over a mapping of a peer's p2pmem <c>allocate</c> file fails with EREMOTEIO; P2P memory reaches
    /// RDMA as a kernel table (<c>ib_map_mr_sg</c>) or a dma-buf instead.
    /// </summary>
    [Fact]
    public void RegUserMr_OverAP2pmemAllocateMapping_IsEremoteio_AndPinsNothing()
    {
        using var rig = new RdmaRig("translate");
        using MmStruct mm = Process(rig, "rdma-a");
        P2pEmu.Dma.P2pDma.P2pmemSysfs sysfs = rig.Machine.P2pDma.GetP2pmemSysfs(rig.Machine.Fabric["nvme0"])!;
        ulong p2p = mm.Mmap(0, 2 * PageBytes, Prot.Read | Prot.Write, MapFlags.Shared, sysfs.Allocate).Value;
        // Two host pages right below the p2pmem mapping: a range across both is pinned up to the first P2P page.
        ulong anon = mm.Mmap(p2p - (2 * PageBytes), 2 * PageBytes, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed).Value;
        Assert.Equal(Errno.None, mm.WriteUser(anon, new byte[2 * PageBytes]));
        Page[] hostPages = [mm.FollowPte(anon)!, mm.FollowPte(anon + PageBytes)!];
        Page p2pPage = mm.FollowPte(p2p)!;
        int mrsBefore = rig.A.Dev.Mrs.Count;

        Result<IbMr> overP2p = rig.A.Dev.RegUserMr(rig.A.Pd, mm, p2p, 2 * PageBytes, 0x10_0000_0000, AllAccess);
        Result<IbMr> readOnly = rig.A.Dev.RegUserMr(rig.A.Pd, mm, p2p, PageBytes, 0x10_0000_0000, IbAccessFlags.RemoteRead);
        Result<IbMr> across = rig.A.Dev.RegUserMr(rig.A.Pd, mm, anon + 100, (3 * PageBytes) - 200, 0x10_0000_0000 + 100, AllAccess);

        Assert.True(p2pPage.IsPciP2pdmaPage);
        Assert.Equal(Errno.EREMOTEIO, overP2p.Error);
        Assert.Equal(Errno.EREMOTEIO, readOnly.Error);
        Assert.Equal(Errno.EREMOTEIO, across.Error); // as Linux's loop asks again from the P2P page, which reports the error
        Assert.All(hostPages, p => Assert.Equal(0, p.PinCount));
        Assert.Equal(0, p2pPage.PinCount);
        Assert.Equal(mrsBefore, rig.A.Dev.Mrs.Count);
    }
}
