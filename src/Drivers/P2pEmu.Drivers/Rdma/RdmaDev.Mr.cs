using System;
using System.Collections.Generic;
using System.Linq;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.Mm;
using P2pEmu.Dma.Userspace;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Drivers.Rdma;

/// <summary>
/// Memory regions: the translation table (MTT) from the region's pages to DMA addresses is built from the mapped
/// segments with the largest page size they allow (<c>ib_umem_find_best_pgsz</c>) and handed to the device with
/// CREATE_MKEY; a dynamic dma-buf region's table is zapped by move_notify and refilled by the page fault handler.
/// </summary>
public sealed partial class RdmaDev
{
    private const int PageShift = 12;
    private const ulong PageSize = 1UL << PageShift;
    private const int MaxPageShift = 30;

    /// <summary>
    /// <c>ib_reg_user_mr</c>: pins [start, start+length) of <paramref name="mm"/> (<see cref="IbUmem"/>), maps it for the
    /// NIC and registers it at <paramref name="iova"/>. EINVAL for an empty or wrapping range, remote write or atomic
    /// without local write (<c>ib_check_mr_access</c>), or an IOVA whose page offset differs from the address's; the
    /// pinning and mapping errors otherwise (EFAULT, EREMOTEIO for P2P pages — see <see cref="IbUmem"/>).
    /// </summary>
    public Result<IbMr> RegUserMr(IbPd pd, MmStruct mm, ulong start, ulong length, ulong iova, IbAccessFlags access)
    {
        ArgumentNullException.ThrowIfNull(pd);
        ArgumentNullException.ThrowIfNull(mm);
        if (!AccessOk(access) || ((start ^ iova) & (PageSize - 1)) != 0 || length > ulong.MaxValue - iova)
        {
            return Errno.EINVAL;
        }

        bool writable = (access & (IbAccessFlags.LocalWrite | IbAccessFlags.RemoteWrite | IbAccessFlags.RemoteAtomic)) != 0;
        Result<IbUmem> umem = IbUmem.Get(_dma, DmaDev, mm, start, length, writable);
        if (!umem.IsSuccess)
        {
            return umem.Error;
        }

        SgEntry[] runs = umem.Value.Sgt!.DmaSegments().ToArray();
        Result<IbMr> mr = CreateMkey(pd, iova, length, access, IbMrKind.User, iova & ~(PageSize - 1), runs, zapped: false);
        if (!mr.IsSuccess)
        {
            umem.Value.Release();
            return mr;
        }

        mr.Value.Umem = umem.Value;
        return mr;
    }

    /// <summary>
    /// A kernel region over a table the ULP already mapped with <see cref="IbDmaMapSgtable"/> — what
    /// <c>ib_map_mr_sg</c> plus an <c>IB_WR_REG_MR</c> work request do for kernel ULPs such as nvmet-rdma with p2pmem
    /// (registered here through the command interface rather than a REG_MR work request). The region is
    /// [<paramref name="iova"/>, +the table's mapped length). EINVAL for an unmapped table, bad rights, or segments with
    /// gaps no page size can describe.
    /// </summary>
    public Result<IbMr> RegMrSg(IbPd pd, SgTable sgt, ulong iova, IbAccessFlags access)
    {
        ArgumentNullException.ThrowIfNull(pd);
        ArgumentNullException.ThrowIfNull(sgt);
        SgEntry[] runs = sgt.DmaSegments().ToArray();
        ulong length = 0;
        foreach (SgEntry run in runs)
        {
            length += run.Length;
        }

        if (!AccessOk(access) || length == 0 || length > ulong.MaxValue - iova)
        {
            return Errno.EINVAL;
        }

        return CreateMkey(pd, iova, length, access, IbMrKind.Kernel, iova, runs, zapped: false);
    }

    /// <summary>
    /// <c>ib_reg_user_mr_dmabuf</c> as mlx5 implements it: imports [offset, offset+length) of dma-buf
    /// <paramref name="fd"/> dynamically (<see cref="IbUmemDmabuf"/> with P2P allowed and the invalidate callback),
    /// creates the key with every entry not present and faults the whole region in once. Later move_notify zaps it and
    /// the next access faults it back. Errors: the umem's (see <see cref="IbUmemDmabuf"/>), EINVAL for bad rights or an
    /// IOVA whose page offset differs from <paramref name="offset"/>'s, EOPNOTSUPP without a dma-buf framework, and the
    /// first fault's <c>map_pages</c> error.
    /// </summary>
    public Result<IbMr> RegUserMrDmabuf(IbPd pd, ulong offset, ulong length, ulong iova, Process process, int fd, IbAccessFlags access) =>
        RegDmabufMr(pd, offset, length, iova, process, fd, access, pinned: false);

    /// <summary>
    /// <c>ib_reg_user_mr_dmabuf</c> with a pinned import (<c>ib_umem_dmabuf_get_pinned</c>): the translation is fixed for
    /// the region's life and move_notify is never expected. A VFIO exporter refuses it (EOPNOTSUPP, see
    /// <see cref="IbUmemDmabuf"/>).
    /// </summary>
    public Result<IbMr> RegUserMrDmabufPinned(IbPd pd, ulong offset, ulong length, ulong iova, Process process, int fd, IbAccessFlags access) =>
        RegDmabufMr(pd, offset, length, iova, process, fd, access, pinned: true);

    private Result<IbMr> RegDmabufMr(IbPd pd, ulong offset, ulong length, ulong iova, Process process, int fd, IbAccessFlags access, bool pinned)
    {
        ArgumentNullException.ThrowIfNull(pd);
        if (!AccessOk(access) || ((offset ^ iova) & (PageSize - 1)) != 0 || length > ulong.MaxValue - iova)
        {
            return Errno.EINVAL;
        }

        Result<IbUmemDmabuf> got = pinned
            ? IbUmemDmabufGetPinned(offset, length, process, fd)
            : IbUmemDmabufGet(offset, length, process, fd, new DmaBufAttachOps { AllowPeer2Peer = true, InvalidateMappings = DmabufInvalidate });
        return got.IsSuccess ? RegisterDmabuf(pd, got.Value, length, iova, access, pinned) : got.Error;
    }

    /// <summary>
    /// <c>ib_umem_dmabuf_get(ibdev, offset, size, fd, access, ops)</c> for a driver that handles the umem itself: the
    /// import with <paramref name="ops"/> as the importer's ops, attached for this NIC (see <see cref="IbUmemDmabuf"/>
    /// for the errnos; EOPNOTSUPP without a dma-buf framework). Release it with <see cref="IbUmemDmabuf.Release"/>.
    /// </summary>
    public Result<IbUmemDmabuf> IbUmemDmabufGet(ulong offset, ulong size, Process process, int fd, DmaBufAttachOps? ops)
    {
        ArgumentNullException.ThrowIfNull(process);
        return DmaBufs is DmaBufHost host ? IbUmemDmabuf.Get(host, DmaDev, offset, size, process, fd, ops) : Errno.EOPNOTSUPP;
    }

    /// <summary><c>ib_umem_dmabuf_get_pinned</c> for this NIC (see <see cref="IbUmemDmabuf"/>).</summary>
    public Result<IbUmemDmabuf> IbUmemDmabufGetPinned(ulong offset, ulong size, Process process, int fd)
    {
        ArgumentNullException.ThrowIfNull(process);
        return DmaBufs is DmaBufHost host ? IbUmemDmabuf.GetPinned(host, DmaDev, offset, size, process, fd) : Errno.EOPNOTSUPP;
    }

    private Result<IbMr> RegisterDmabuf(IbPd pd, IbUmemDmabuf umem, ulong length, ulong iova, IbAccessFlags access, bool pinned)
    {
        // A dynamic region starts with every entry not present and is faulted in once; a pinned one is fixed now.
        SgEntry[] runs = pinned ? [.. umem.DmaSegments] : [new SgEntry(default, PagesCovering(iova, length, PageShift) * PageSize)];
        Result<IbMr> created = CreateMkey(pd, iova, length, access, pinned ? IbMrKind.DmabufPinned : IbMrKind.DmabufDynamic, iova & ~(PageSize - 1), runs, zapped: !pinned);
        if (!created.IsSuccess)
        {
            umem.Release();
            return created.Error;
        }

        IbMr mr = created.Value;
        mr.UmemDmabuf = umem;
        Errno populated = pinned ? Errno.None : PagefaultDmabufMr(mr);
        if (populated != Errno.None)
        {
            DeregMr(mr);
            return populated;
        }

        return Result.Ok(mr);
    }

    /// <summary><c>ib_dereg_mr</c>: the key is destroyed first, so the device stops using the pages, then the backing is released.</summary>
    public Errno DeregMr(IbMr mr)
    {
        ArgumentNullException.ThrowIfNull(mr);
        lock (_mrs)
        {
            if (mr.IsDeregistered || !_mrs.Remove(mr.Lkey))
            {
                return Errno.EINVAL;
            }

            mr.IsDeregistered = true;
        }

        Errno error = Simple(NicHw.CmdDestroyMkey, mr.Lkey);
        ReleaseBacking(mr);
        return error;
    }

    private static void ReleaseBacking(IbMr mr)
    {
        mr.Umem?.Release();
        mr.UmemDmabuf?.Release();
    }

    /// <summary><c>ib_check_mr_access</c>: remote write or atomic needs local write.</summary>
    private static bool AccessOk(IbAccessFlags access) =>
        (access & ~(IbAccessFlags.LocalWrite | IbAccessFlags.RemoteWrite | IbAccessFlags.RemoteRead)) == 0
        && ((access & IbAccessFlags.RemoteWrite) == 0 || (access & IbAccessFlags.LocalWrite) != 0);

    private static ulong PagesCovering(ulong iova, ulong length, int shift)
    {
        ulong mask = (1UL << shift) - 1;
        return (((iova + length - 1) & ~mask) - (iova & ~mask) >> shift) + 1;
    }

    /// <summary>
    /// Registers a key whose region [iova, iova+length) lies in the range that <paramref name="runs"/> cover from
    /// <paramref name="runsVa"/> on; with <paramref name="zapped"/> every entry starts not present (4 KiB pages).
    /// </summary>
    private Result<IbMr> CreateMkey(IbPd pd, ulong iova, ulong length, IbAccessFlags access, IbMrKind kind, ulong runsVa, SgEntry[] runs, bool zapped)
    {
        int shift = zapped ? PageShift : BestPageShift(iova, length, runsVa, runs);
        if (shift == 0)
        {
            return Errno.EINVAL;
        }

        ulong[] mtt = zapped ? new ulong[PagesCovering(iova, length, shift)] : BuildMtt(iova, length, shift, runsVa, runs);
        uint key = NextKey();
        var mr = new IbMr(pd, key, iova, length, access, kind, shift, (uint)mtt.Length);
        Errno error = UploadMtt(NicHw.CmdCreateMkey, key, 0, mtt, cmd =>
        {
            Put64(cmd, 8, iova);
            Put64(cmd, 16, length);
            Put32(cmd, 24, (uint)access);
            Put32(cmd, 28, pd.Pdn);
            Put32(cmd, 40, (uint)mtt.Length);
            Put32(cmd, 44, (uint)shift);
        });
        if (error != Errno.None)
        {
            return error;
        }

        lock (_mrs)
        {
            _mrs[key] = mr;
        }

        return Result.Ok(mr);
    }

    /// <summary>
    /// The largest page size (4 KiB … 1 GiB) at which every page of the region maps to one contiguous DMA range:
    /// <c>ib_umem_find_best_pgsz</c>. 0 when even 4 KiB pages cannot describe the segments.
    /// </summary>
    private static int BestPageShift(ulong iova, ulong length, ulong runsVa, SgEntry[] runs)
    {
        for (int shift = MaxPageShift; shift >= PageShift; shift--)
        {
            ulong mask = (1UL << shift) - 1;
            if (shift > PageShift && (1UL << shift) > 2 * length)
            {
                continue;
            }

            bool ok = true;
            ulong va = runsVa;
            for (int i = 0; i < runs.Length && ok; i++)
            {
                ulong end = va + runs[i].Length;
                bool inRegion = end > iova && va < iova + length;
                ok = !inRegion
                    || ((unchecked(va - runs[i].Address.Value) & mask) == 0
                        && (va <= iova || (va & mask) == 0)
                        && (end >= iova + length || (end & mask) == 0));
                va = end;
            }

            if (ok)
            {
                return shift;
            }
        }

        return 0;
    }

    private static ulong[] BuildMtt(ulong iova, ulong length, int shift, ulong runsVa, SgEntry[] runs)
    {
        ulong pageBytes = 1UL << shift;
        ulong first = iova & ~(pageBytes - 1);
        var mtt = new ulong[PagesCovering(iova, length, shift)];
        int r = 0;
        ulong runVa = runsVa;
        for (int p = 0; p < mtt.Length; p++)
        {
            ulong pageVa = first + ((ulong)p * pageBytes);
            ulong probe = Math.Max(pageVa, iova);
            while (runVa + runs[r].Length <= probe)
            {
                runVa += runs[r].Length;
                r++;
            }

            ulong dma = unchecked(runs[r].Address.Value + (probe - runVa) - (probe - pageVa));
            mtt[p] = (dma & ~(PageSize - 1)) | NicHw.MttPresent;
        }

        return mtt;
    }

    /// <summary>Writes <paramref name="entries"/> to a coherent list and runs a command that reads it (CREATE_MKEY, UPDATE_MTT).</summary>
    private Errno UploadMtt(byte opcode, uint key, uint firstEntry, ReadOnlySpan<ulong> entries, Action<byte[]> fields)
    {
        ulong bytes = Math.Max(8UL, (ulong)entries.Length * 8);
        PhysAddress list = _dma.DmaAllocCoherent(DmaDev, bytes, out DmaAddress listDma);
        try
        {
            _cpu.Write(list.Value, System.Runtime.InteropServices.MemoryMarshal.AsBytes(entries));
            byte[] cmd = new byte[NicHw.CommandBytes];
            cmd[0] = opcode;
            Put32(cmd, 4, key);
            if (opcode == NicHw.CmdCreateMkey)
            {
                Put64(cmd, 32, listDma.Value);
            }
            else
            {
                Put64(cmd, 8, listDma.Value);
                Put32(cmd, 16, firstEntry);
                Put32(cmd, 20, (uint)entries.Length);
            }

            fields(cmd);
            return ExecCommand(cmd);
        }
        finally
        {
            _dma.DmaFreeCoherent(DmaDev, bytes, list, listDma);
        }
    }

    /// <summary>Marks entries [first, first+count) of a key not present (zap) or in error.</summary>
    private Errno SetMttState(IbMr mr, bool error)
    {
        if (!error)
        {
            return UploadMtt(NicHw.CmdUpdateMtt, mr.Lkey, 0, [], cmd =>
            {
                Put32(cmd, 16, 0);
                Put32(cmd, 20, mr.MttEntries);
                Put32(cmd, 24, NicHw.MttZap);
            });
        }

        ulong[] failed = new ulong[mr.MttEntries];
        Array.Fill(failed, NicHw.MttError);
        return UploadMtt(NicHw.CmdUpdateMtt, mr.Lkey, 0, failed, _ => { });
    }

    /// <summary>
    /// <c>mlx5_ib_dmabuf_invalidate_cb</c>, the importer's move_notify (reservation lock held): nothing to do when
    /// nothing is mapped or the region is not registered yet; otherwise zap the key's translation and unmap the pages.
    /// When this returns the device no longer reaches the old pages.
    /// </summary>
    private void DmabufInvalidate(DmaBufAttachment attachment)
    {
        if (attachment.ImporterPriv is not IbUmemDmabuf umem || umem.Sgt is null)
        {
            return;
        }

        IbMr? mr;
        lock (_mrs)
        {
            mr = _mrs.Values.FirstOrDefault(m => ReferenceEquals(m.UmemDmabuf, umem));
        }

        if (mr is null)
        {
            return;
        }

        SetMttState(mr, error: false);
        umem.UnmapPages();
    }

    /// <summary>An event queue page fault on key <paramref name="key"/>: the dma-buf region it belongs to is faulted in.</summary>
    private void HandlePageFault(uint key, ulong address)
    {
        IbMr? mr;
        lock (_mrs)
        {
            _mrs.TryGetValue(key, out mr);
        }

        if (mr?.UmemDmabuf is null || mr.Kind != IbMrKind.DmabufDynamic)
        {
            Warn(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"page fault on key 0x{key:x} at 0x{address:x} that no dma-buf region owns"));
            return;
        }

        PagefaultDmabufMr(mr);
    }

    /// <summary>
    /// <c>pagefault_dmabuf_mr</c>: under the reservation lock, <c>ib_umem_dmabuf_map_pages</c> and then the key's whole
    /// table from the trimmed segments. When mapping fails (the buffer was revoked: EINVAL) the entries are marked in
    /// error, so the device fails the access instead of faulting again — a page fault resumed with an error.
    /// </summary>
    private Errno PagefaultDmabufMr(IbMr mr)
    {
        IbUmemDmabuf umem = mr.UmemDmabuf!;
        DmaResv resv = umem.DmaBuf.Resv;
        resv.Lock();
        try
        {
            Errno mapped = umem.MapPages();
            mr.CountFault(mapped);
            if (mapped != Errno.None)
            {
                SetMttState(mr, error: true);
                return mapped;
            }

            ulong[] mtt = BuildMtt(mr.Iova, mr.Length, mr.PageShift, mr.Iova & ~(PageSize - 1), [.. umem.DmaSegments]);
            return UploadMtt(NicHw.CmdUpdateMtt, mr.Lkey, 0, mtt, _ => { });
        }
        finally
        {
            resv.Unlock();
        }
    }

    /// <summary>The registered regions (for tests and reports).</summary>
    public IReadOnlyList<IbMr> Mrs
    {
        get
        {
            lock (_mrs)
            {
                return _mrs.Values.ToArray();
            }
        }
    }
}
