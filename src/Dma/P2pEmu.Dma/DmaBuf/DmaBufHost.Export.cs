using System;
using P2pEmu.Dma.Userspace;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Dma.DmaBuf;

/// <content>Export, file descriptors and references (spec §5.1).</content>
public sealed partial class DmaBufHost
{
    /// <summary>
    /// <c>dma_buf_export</c>: wraps the exporter's object in a buffer with its own file (one reference, the caller's)
    /// and a reservation object (<see cref="DmaBufExportInfo.Resv"/> or a new one).
    /// </summary>
    /// <returns>
    /// The buffer. EINVAL (recorded) when the private object, the ops, <c>map_dma_buf</c>, <c>unmap_dma_buf</c> or
    /// <c>release</c> is missing, or only one of <c>pin</c>/<c>unpin</c> is given; EDEADLK when the exporter's shared
    /// reservation is held by the caller.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="info"/> is null.</exception>
    public Result<DmaBuf> DmaBufExport(DmaBufExportInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        Errno held = info.Resv?.AssertNotHeld("dma_buf_export") ?? Errno.None;
        if (held != Errno.None)
        {
            return held;
        }

        DmaBufOps? ops = info.Ops;
        if (info.Priv is null || ops?.MapDmaBuf is null || ops.UnmapDmaBuf is null || ops.Release is null)
        {
            Violate(DmaBufViolationKind.BadExporterOps, "dma_buf_export", "priv, ops, map_dma_buf, unmap_dma_buf and release are required");
            return Errno.EINVAL;
        }

        if ((ops.Pin is null) != (ops.Unpin is null))
        {
            Violate(DmaBufViolationKind.BadExporterOps, "dma_buf_export", "pin and unpin must be given together");
            return Errno.EINVAL;
        }

        var dmabuf = new DmaBuf(this, info, ops, info.Resv ?? new DmaResv(this));
        _buffers.TryAdd(dmabuf, true);
        return Result.Ok(dmabuf);
    }

    /// <summary>
    /// <c>dma_buf_fd</c>: installs the buffer's file in <paramref name="process"/>'s descriptor table. On success
    /// the descriptor owns the caller's reference.
    /// </summary>
    /// <returns>The descriptor; EINVAL for a released buffer; EMFILE; EDEADLK when the caller holds the buffer's reservation.</returns>
    public Result<int> DmaBufFd(DmaBuf dmabuf, Process process, int flags)
    {
        Own(dmabuf);
        ArgumentNullException.ThrowIfNull(process);
        Errno held = dmabuf.Resv.AssertNotHeld("dma_buf_fd");
        if (held != Errno.None)
        {
            return held;
        }

        if (dmabuf.File.IsReleased)
        {
            return Errno.EINVAL;
        }

        return process.FdInstall(dmabuf.File, flags);
    }

    /// <summary><c>dma_buf_get</c>: the buffer behind a descriptor, with a new reference the caller must put.</summary>
    /// <returns>The buffer; EBADF for a descriptor that is not open; EINVAL for a file that is not a dma-buf of this machine.</returns>
    public Result<DmaBuf> DmaBufGet(Process process, int fd)
    {
        ArgumentNullException.ThrowIfNull(process);
        OpenFile? file = process.Fget(fd);
        if (file is null)
        {
            return Errno.EBADF;
        }

        if (file.Ops is not DmaBufFileOps || !ReferenceEquals(((DmaBuf)file.PrivateData!).Host, this))
        {
            file.Put();
            return Errno.EINVAL;
        }

        return Result.Ok((DmaBuf)file.PrivateData!);
    }

    /// <summary><c>get_dma_buf</c>: another reference on a buffer the caller holds one on.</summary>
    public void GetDmaBuf(DmaBuf dmabuf)
    {
        Own(dmabuf);
        dmabuf.File.Get();
    }

    /// <summary><c>dma_buf_put</c>: drops a reference; the last one releases the buffer (see <see cref="Release"/>).</summary>
    /// <returns>None; EDEADLK (recorded, nothing dropped) when the caller holds the buffer's reservation.</returns>
    public Errno DmaBufPut(DmaBuf dmabuf)
    {
        Own(dmabuf);
        Errno held = dmabuf.Resv.AssertNotHeld("dma_buf_put");
        if (held != Errno.None)
        {
            return held;
        }

        dmabuf.File.Put();
        return Errno.None;
    }

    /// <summary>
    /// <c>dma_buf_release</c>, on the last reference: the exporter's <c>release</c> runs; attachments still present
    /// are an importer bug (Linux WARNs; recorded).
    /// </summary>
    internal void Release(DmaBuf dmabuf)
    {
        if (!dmabuf.MarkReleased())
        {
            return;
        }

        int attachments = dmabuf.Attachments.Count;
        if (attachments != 0)
        {
            Violate(DmaBufViolationKind.ReleaseWithAttachments, "dma_buf_release", $"{dmabuf} released with {attachments} attachment(s)");
        }

        dmabuf.Ops.Release!(dmabuf);
        _buffers.TryRemove(dmabuf, out _);
    }
}
