using System;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.Mm;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Dma.DmaBuf;

/// <content>CPU access: <c>mmap</c> (spec §5.8) and the begin/end brackets.</content>
public sealed partial class DmaBufHost
{
    /// <summary>
    /// <c>dma_buf_mmap</c>: maps <paramref name="pageCount"/> pages of the buffer from page <paramref name="pgoff"/> and
    /// lets the exporter's <c>mmap</c> set the mapping up. The mapping holds a reference to the buffer's file until
    /// <see cref="DmaBufCpuMapping.Unmap"/>.
    /// </summary>
    /// <returns>
    /// The mapping; EINVAL when the exporter has no <c>mmap</c> or the pages run past the buffer; EOVERFLOW when
    /// <c>pgoff + pages</c> overflows; the exporter's error; EDEADLK (recorded) when the caller holds the reservation.
    /// </returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="pageCount"/> is 0 (a VMA is never empty).</exception>
    public Result<DmaBufCpuMapping> DmaBufMmap(DmaBuf dmabuf, ulong pgoff, ulong pageCount, bool shared = true)
    {
        Own(dmabuf);
        ArgumentOutOfRangeException.ThrowIfZero(pageCount);
        Errno error = dmabuf.Resv.AssertNotHeld("dma_buf_mmap");
        if (error != Errno.None)
        {
            return error;
        }

        if (dmabuf.Ops.Mmap is not { } mmap)
        {
            return Errno.EINVAL;
        }

        if (unchecked(pgoff + pageCount) < pgoff)
        {
            return Errno.EOVERFLOW;
        }

        if (pgoff + pageCount > dmabuf.Size / DmaBufCpuMapping.PageSize)
        {
            return Errno.EINVAL;
        }

        var mapping = new DmaBufCpuMapping(dmabuf, pgoff, pageCount, shared);
        dmabuf.File.Get();
        error = mmap(dmabuf, mapping);
        if (error != Errno.None)
        {
            dmabuf.File.Put();
            return error;
        }

        dmabuf.AddCpuMapping(mapping);
        return Result.Ok(mapping);
    }

    /// <summary>
    /// <c>mmap(2)</c> of the buffer's fd in <paramref name="mm"/>: a shared mapping of <paramref name="length"/> bytes from
    /// byte <paramref name="offset"/> of the buffer at an address the address space picks. The VMA is VM_PFNMAP | VM_IO:
    /// its entries are the exporter's (see <see cref="DmaBufMmap(DmaBuf, ulong, ulong, bool)"/>), so CPU loads and stores
    /// work, while O_DIRECT and <c>pin_user_pages</c> on it fail with EFAULT, as Linux's GUP fails on such mappings.
    /// <c>munmap</c> drops the mapping's reference to the buffer's file.
    /// </summary>
    /// <returns>The user address; the errors of <see cref="MmStruct.Mmap"/> and of the exporter's mmap.</returns>
    public Result<ulong> DmaBufMmap(DmaBuf dmabuf, MmStruct mm, ulong length, Prot prot, ulong offset = 0)
    {
        Own(dmabuf);
        ArgumentNullException.ThrowIfNull(mm);
        return mm.Mmap(0, length, prot, MapFlags.Shared, dmabuf.MmapFile, offset);
    }

    /// <summary>
    /// <c>unmap_mapping_range</c> over the buffer's file: clears the page-table entries of every CPU mapping, so the
    /// next access faults into the exporter again. When it returns no access through the old entries is in progress.
    /// </summary>
    public void DmaBufZapCpuMappings(DmaBuf dmabuf)
    {
        Own(dmabuf);
        foreach (DmaBufCpuMapping mapping in dmabuf.CpuMappings)
        {
            mapping.Zap();
        }
    }

    /// <summary>
    /// <c>dma_buf_begin_cpu_access</c>: the exporter's hook, then a wait for the fences a CPU access in
    /// <paramref name="dir"/> must wait for (writers wait for readers too).
    /// </summary>
    /// <returns>None; the exporter's error; ETIMEDOUT past <see cref="LockTimeout"/>; EDEADLK (recorded) when the caller holds the reservation.</returns>
    public Errno DmaBufBeginCpuAccess(DmaBuf dmabuf, DmaDirection dir)
    {
        Own(dmabuf);
        Errno error = dmabuf.Resv.AssertNotHeld("dma_buf_begin_cpu_access");
        if (error != Errno.None)
        {
            return error;
        }

        error = dmabuf.Ops.BeginCpuAccess?.Invoke(dmabuf, dir) ?? Errno.None;
        if (error != Errno.None)
        {
            return error;
        }

        bool write = dir is DmaDirection.Bidirectional or DmaDirection.ToDevice;
        return dmabuf.Resv.WaitTimeout(write ? DmaResvUsage.Read : DmaResvUsage.Write, true, LockTimeout);
    }

    /// <summary><c>dma_buf_end_cpu_access</c>: the exporter's hook.</summary>
    /// <returns>None; the exporter's error; EDEADLK (recorded) when the caller holds the reservation.</returns>
    public Errno DmaBufEndCpuAccess(DmaBuf dmabuf, DmaDirection dir)
    {
        Own(dmabuf);
        Errno error = dmabuf.Resv.AssertNotHeld("dma_buf_end_cpu_access");
        return error != Errno.None ? error : dmabuf.Ops.EndCpuAccess?.Invoke(dmabuf, dir) ?? Errno.None;
    }
}
