using System;
using System.Buffers;
using P2pEmu.Dma.Mm;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Dma.Block;

/// <content>O_DIRECT from and to user memory: <c>iov_iter_extract_pages</c> over an address space (spec §4.2).</content>
public sealed partial class BlockDevice
{
    /// <summary>
    /// O_DIRECT <c>pread(2)</c> into <paramref name="length"/> bytes of <paramref name="mm"/> at
    /// <paramref name="buffer"/>: the buffer's pages are pinned with FOLL_WRITE — and with FOLL_PCI_P2PDMA exactly when
    /// the queue advertises P2P (<see cref="DirectIoAllowsP2pdma"/>) — the read runs over them (a P2P run and a host
    /// run never share a bio), and every page is unpinned when it completed.
    /// </summary>
    /// <returns>
    /// Bytes read; fewer when only a prefix of the buffer could be pinned (whole blocks of it are read, as Linux trims
    /// the bio); otherwise the pin's error — EREMOTEIO for P2P pages on a queue without P2P support, EFAULT for an
    /// unmapped or zapped buffer — or the read's (<see cref="ReadDirect(long, System.Collections.Generic.IReadOnlyList{BioVec})"/>).
    /// </returns>
    public Result<long> PreadDirect(MmStruct mm, ulong buffer, ulong length, long position) =>
        UserDirectIo(ReqOp.Read, mm, buffer, length, position);

    /// <summary>O_DIRECT <c>pwrite(2)</c> from user memory: as <see cref="PreadDirect"/>, pinning without FOLL_WRITE.</summary>
    public Result<long> PwriteDirect(MmStruct mm, ulong buffer, ulong length, long position) =>
        UserDirectIo(ReqOp.Write, mm, buffer, length, position);

    private Result<long> UserDirectIo(ReqOp op, MmStruct mm, ulong buffer, ulong length, long position)
    {
        ArgumentNullException.ThrowIfNull(mm);
        if (length == 0)
        {
            return Result.Ok(0L);
        }

        // blkdev_dio_invalid, before anything is pinned (the buffer's own alignment is checked per segment later).
        if (position < 0 || (ulong)position % LogicalBlockSize != 0 || length % LogicalBlockSize != 0)
        {
            return Errno.EINVAL;
        }

        uint offset = (uint)(buffer & (BlockGeometry.PageSize - 1));
        ulong spanBytes = offset + length;
        if (spanBytes < length || spanBytes > int.MaxValue * BlockGeometry.PageSize)
        {
            return Errno.EINVAL;
        }

        int nrPages = (int)((spanBytes + BlockGeometry.PageSize - 1) / BlockGeometry.PageSize);
        FollFlags flags = (op == ReqOp.Read ? FollFlags.Write : FollFlags.None) | (DirectIoAllowsP2pdma ? FollFlags.PciP2pdma : FollFlags.None);
        Page[] pages = ArrayPool<Page>.Shared.Rent(nrPages);
        Result<int> pinned = mm.PinUserPages(buffer, nrPages, flags, pages);
        if (!pinned.IsSuccess)
        {
            ArrayPool<Page>.Shared.Return(pages, clearArray: true);
            return pinned.Error;
        }

        try
        {
            ulong usable = Math.Min(length, ((ulong)pinned.Value * BlockGeometry.PageSize) - offset);
            usable -= usable % LogicalBlockSize;
            if (usable == 0)
            {
                // Not one whole block could be pinned: ask again from the failing page for its error.
                return pinned.Value < nrPages ? PinError(mm, buffer, pinned.Value, flags) : Errno.EINVAL;
            }

            BioAllocCache cache = RentBioCache();
            for (int i = 0; i < pinned.Value; i++)
            {
                cache.Pages.Add(pages[i].Phys);
            }

            return ExtractedDirectIo(op, position, cache.Pages, offset, usable, cache);
        }
        finally
        {
            Gup.UnpinUserPages(pages.AsSpan(0, pinned.Value));
            ArrayPool<Page>.Shared.Return(pages, clearArray: true);
        }
    }

    private static Errno PinError(MmStruct mm, ulong buffer, int failingPage, FollFlags flags)
    {
        ulong at = (buffer & ~(BlockGeometry.PageSize - 1)) + ((ulong)failingPage * BlockGeometry.PageSize);
        var page = new Page[1];
        Result<int> again = mm.PinUserPages(at, 1, flags, page);
        if (again.IsSuccess)
        {
            // The page could be pinned now (the mapping changed in between): give it back and report a fault.
            Gup.UnpinUserPages(page.AsSpan(0, again.Value));
            return Errno.EFAULT;
        }

        return again.Error;
    }
}
