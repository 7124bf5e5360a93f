using System;
using System.Collections.Generic;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.Userspace;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Drivers.Rdma;

/// <summary>
/// Linux <c>struct ib_umem_dmabuf</c> (drivers/infiniband/core/umem_dmabuf.c, spec §7.2): the range
/// [<see cref="Offset"/>, +<see cref="Length"/>) of a dma-buf, attached dynamically for the NIC, mapped on demand with
/// <see cref="MapPages"/> (under the buffer's reservation lock) and trimmed to the page-aligned range it covers.
/// </summary>
/// <remarks>
/// Linux trims the exporter's table in place and restores it before unmapping; here the trimmed view is a copy
/// (<see cref="DmaSegments"/>), so the exporter's table is never changed — the same result for both sides.
/// </remarks>
public sealed class IbUmemDmabuf
{
    private const ulong PageSize = 4096;

    private readonly DmaBufHost _host;
    private SgEntry[] _segments = [];

    private IbUmemDmabuf(DmaBufHost host, DmaBuf dmabuf, ulong offset, ulong length)
    {
        _host = host;
        DmaBuf = dmabuf;
        Offset = offset;
        Length = length;
    }

    public DmaBuf DmaBuf { get; }

    public DmaBufAttachment Attachment { get; private set; } = null!;

    public ulong Offset { get; }

    public ulong Length { get; }

    /// <summary>The exporter's mapped table while mapped; null otherwise.</summary>
    public SgTable? Sgt { get; private set; }

    /// <summary>The mapped DMA segments trimmed to [align_down(offset), align_up(offset+length)), while mapped.</summary>
    public IReadOnlyList<SgEntry> DmaSegments => _segments;

    public bool IsPinned { get; private set; }

    public bool IsRevoked { get; private set; }

    /// <summary>
    /// <c>ib_umem_dmabuf_get</c>: EINVAL when offset + length overflows, when <paramref name="ops"/> has no notify
    /// callback, when the buffer is smaller than offset + length, or when the range has no page; the errors of
    /// <c>dma_buf_get</c> (EBADF, EINVAL) and of <c>dma_buf_dynamic_attach</c> (for VFIO: EOPNOTSUPP, ENODEV).
    /// </summary>
    internal static Result<IbUmemDmabuf> Get(DmaBufHost host, DmaDevice dev, ulong offset, ulong length, Process process, int fd, DmaBufAttachOps? ops)
    {
        if (length > ulong.MaxValue - offset)
        {
            return Errno.EINVAL;
        }

        if (ops?.InvalidateMappings is null)
        {
            return Errno.EINVAL;
        }

        Result<DmaBuf> got = host.DmaBufGet(process, fd);
        if (!got.IsSuccess)
        {
            return got.Error;
        }

        DmaBuf dmabuf = got.Value;
        ulong end = offset + length;
        if (dmabuf.Size < end || ((end + PageSize - 1) / PageSize) - (offset / PageSize) == 0)
        {
            host.DmaBufPut(dmabuf);
            return Errno.EINVAL;
        }

        var umem = new IbUmemDmabuf(host, dmabuf, offset, length);
        Result<DmaBufAttachment> attach = host.DmaBufDynamicAttach(dmabuf, dev, ops, umem);
        if (!attach.IsSuccess)
        {
            host.DmaBufPut(dmabuf);
            return attach.Error;
        }

        umem.Attachment = attach.Value;
        return Result.Ok(umem);
    }

    /// <summary>
    /// <c>ib_umem_dmabuf_get_pinned</c>: attaches with P2P allowed and a notify stub that only warns, then under the
    /// reservation lock pins and maps. A v6.19 VFIO exporter refuses the pin (EOPNOTSUPP); under the revoke series
    /// the attach itself fails with EOPNOTSUPP, because the stub makes the attachment non-revocable.
    /// </summary>
    internal static Result<IbUmemDmabuf> GetPinned(DmaBufHost host, DmaDevice dev, ulong offset, ulong length, Process process, int fd)
    {
        var ops = new DmaBufAttachOps { AllowPeer2Peer = true, InvalidateMappings = DmaBufHost.UnsupportedInvalidateMappings };
        Result<IbUmemDmabuf> got = Get(host, dev, offset, length, process, fd, ops);
        if (!got.IsSuccess)
        {
            return got;
        }

        IbUmemDmabuf umem = got.Value;
        DmaResv resv = umem.DmaBuf.Resv;
        resv.Lock();
        Errno error = host.DmaBufPin(umem.Attachment);
        if (error == Errno.None)
        {
            umem.IsPinned = true;
            error = umem.MapPages();
            if (error != Errno.None)
            {
                host.DmaBufUnpin(umem.Attachment);
                umem.IsPinned = false;
            }
        }

        resv.Unlock();
        if (error != Errno.None)
        {
            umem.Release();
            return error;
        }

        return Result.Ok(umem);
    }

    /// <summary>
    /// <c>ib_umem_dmabuf_map_pages</c> (reservation lock held): EINVAL once revoked; maps the attachment if it is not
    /// mapped, trims to the covered pages, then waits for the KERNEL-usage fences (ETIMEDOUT if they do not signal).
    /// </summary>
    /// <exception cref="InvalidOperationException">The reservation lock is not held by this thread (a driver bug).</exception>
    public Errno MapPages()
    {
        RequireLock();
        if (IsRevoked)
        {
            return Errno.EINVAL;
        }

        if (Sgt is null)
        {
            Result<SgTable> mapped = _host.DmaBufMapAttachment(Attachment, DmaDirection.Bidirectional);
            if (!mapped.IsSuccess)
            {
                return mapped.Error;
            }

            Sgt = mapped.Value;
            _segments = Trim(mapped.Value, Offset & ~(PageSize - 1), (Offset + Length + PageSize - 1) & ~(PageSize - 1));
        }

        return DmaBuf.Resv.WaitTimeout(DmaResvUsage.Kernel, interruptible: false, System.Threading.Timeout.InfiniteTimeSpan) == Errno.None
            ? Errno.None
            : Errno.ETIMEDOUT;
    }

    /// <summary><c>ib_umem_dmabuf_unmap_pages</c> (reservation lock held): unmaps, if mapped.</summary>
    public void UnmapPages()
    {
        RequireLock();
        if (Sgt is SgTable sgt)
        {
            _segments = [];
            Sgt = null;
            _host.DmaBufUnmapAttachment(Attachment, sgt, DmaDirection.Bidirectional);
        }
    }

    /// <summary><c>ib_umem_dmabuf_revoke</c>: once, under the lock: unmap, unpin if pinned, and refuse later maps.</summary>
    public void Revoke()
    {
        DmaResv resv = DmaBuf.Resv;
        resv.Lock();
        try
        {
            if (IsRevoked)
            {
                return;
            }

            UnmapPages();
            if (IsPinned)
            {
                _host.DmaBufUnpin(Attachment);
                IsPinned = false;
            }

            IsRevoked = true;
        }
        finally
        {
            resv.Unlock();
        }
    }

    /// <summary><c>ib_umem_dmabuf_release</c>: revoke, detach, and drop the buffer reference.</summary>
    public void Release()
    {
        Revoke();
        if (!Attachment.IsDetached)
        {
            _host.DmaBufDetach(DmaBuf, Attachment);
            _host.DmaBufPut(DmaBuf);
        }
    }

    private void RequireLock()
    {
        if (!DmaBuf.Resv.IsHeldByCurrentThread)
        {
            throw new InvalidOperationException("ib_umem_dmabuf map/unmap needs the dma-buf's reservation lock (dma_resv_assert_held).");
        }
    }

    /// <summary>The table's DMA segments cut to [start, end) of the buffer.</summary>
    private static SgEntry[] Trim(SgTable sgt, ulong start, ulong end)
    {
        var segments = new List<SgEntry>();
        ulong at = 0;
        foreach (SgEntry entry in sgt.DmaSegments())
        {
            ulong from = Math.Max(at, start);
            ulong to = Math.Min(at + entry.Length, end);
            if (from < to)
            {
                segments.Add(new SgEntry(entry.Address.Add(from - at), to - from));
            }

            at += entry.Length;
            if (at >= end)
            {
                break;
            }
        }

        return segments.ToArray();
    }
}
