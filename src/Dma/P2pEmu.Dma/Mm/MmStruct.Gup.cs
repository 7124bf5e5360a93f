using System;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Dma.Mm;

/// <content>pin_user_pages (mm/gup.c) and the page faults it needs.</content>
public sealed partial class MmStruct
{
    /// <summary>
    /// Linux <c>pin_user_pages_fast(start, nr_pages, gup_flags, pages)</c> on this address space: pins the pages
    /// of <paramref name="nrPages"/> pages from <paramref name="start"/> (rounded down to its page), faulting
    /// anonymous pages in, and stores them in <paramref name="pages"/>. Each page's
    /// <see cref="Page.IsPciP2pdmaPage"/> and <see cref="Page.Pgmap"/> tell the caller what it got, so a caller
    /// that must not mix P2P and host pages, or pages of two providers, in one request can split it.
    /// </summary>
    /// <returns>
    /// How many pages were pinned from the start: all of them, or fewer when a page failed after some were pinned
    /// (as Linux; the caller unpins what it got or asks again from the failing page, which then reports the
    /// error). When none could be pinned, the error: EINVAL for arguments <see cref="Gup.IsValidGupArgs"/>
    /// rejects (FOLL_LONGTERM with FOLL_PCI_P2PDMA among them); EOVERFLOW when the range wraps; EFAULT when it
    /// ends beyond user space, for an address with no VMA, for a VM_IO or VM_PFNMAP VMA, for a write to a VMA
    /// that is not writable, a read of one that is not readable, a file VMA with FOLL_ANON, a file page that is
    /// not mapped (a zapped <c>allocate</c> mapping: SIGBUS for a CPU access), or an absent page with
    /// FOLL_NOFAULT; ENOMEM when an anonymous page cannot be allocated; EREMOTEIO for a P2P page without
    /// FOLL_PCI_P2PDMA. The fast and slow paths of Linux give the same answers, so there is one path.
    /// </returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="nrPages"/> is negative.</exception>
    /// <exception cref="ArgumentException"><paramref name="pages"/> is shorter than <paramref name="nrPages"/>.</exception>
    /// <exception cref="ObjectDisposedException">The address space was torn down.</exception>
    public Result<int> PinUserPages(ulong start, int nrPages, FollFlags gupFlags, Span<Page> pages)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(nrPages);
        if (pages.Length < nrPages)
        {
            throw new ArgumentException($"Room for {pages.Length} pages, {nrPages} asked.", nameof(pages));
        }

        if (!Gup.IsValidGupArgs(ref gupFlags, FollFlags.Pin))
        {
            return Errno.EINVAL;
        }

        start &= ~PageMask;
        if (nrPages == 0)
        {
            return Result.Ok(0);
        }

        ulong len = (ulong)nrPages << Page.PageShift;
        if (start > ulong.MaxValue - len)
        {
            return Errno.EOVERFLOW;
        }

        if (start + len > TaskSize)
        {
            return Errno.EFAULT;
        }

        lock (_mmapLock)
        {
            ThrowIfDisposed();
            for (int i = 0; i < nrPages; i++)
            {
                ulong address = start + ((ulong)i << Page.PageShift);
                Errno error = PinOneLocked(address, gupFlags, out Page? page);
                if (error != Errno.None)
                {
                    return i > 0 ? Result.Ok(i) : error;
                }

                pages[i] = page!;
            }
        }

        return Result.Ok(nrPages);
    }

    /// <summary>Linux <c>check_vma_flags</c>.</summary>
    private static Errno CheckVmaFlags(VmAreaStruct vma, FollFlags gupFlags)
    {
        VmFlags flags = vma.Flags;
        if ((flags & (VmFlags.Io | VmFlags.PfnMap)) != 0)
        {
            return Errno.EFAULT;
        }

        if ((gupFlags & FollFlags.Anon) != 0 && !vma.IsAnonymous)
        {
            return Errno.EFAULT;
        }

        bool force = (gupFlags & FollFlags.Force) != 0;
        if ((gupFlags & FollFlags.Write) != 0)
        {
            // FOLL_FORCE writes only into a private (copy-on-write) mapping the task could make writable.
            bool cow = (flags & (VmFlags.Shared | VmFlags.MayWrite)) == VmFlags.MayWrite;
            if ((flags & VmFlags.Write) == 0 && !(force && cow))
            {
                return Errno.EFAULT;
            }
        }
        else if ((flags & VmFlags.Read) == 0 && !(force && (flags & VmFlags.MayRead) != 0))
        {
            return Errno.EFAULT;
        }

        return Errno.None;
    }

    /// <summary>One page of GUP: VMA checks, the page (faulted in if needed), the P2P check, the pin.</summary>
    private Errno PinOneLocked(ulong address, FollFlags gupFlags, out Page? page)
    {
        page = null;
        VmAreaStruct? vma = FindVmaLocked(address);
        if (vma is null)
        {
            return Errno.EFAULT;
        }

        Errno error = CheckVmaFlags(vma, gupFlags);
        if (error != Errno.None)
        {
            return error;
        }

        lock (_pageTableLock)
        {
            if (!_pageTable.TryGetValue(address, out page))
            {
                if ((gupFlags & FollFlags.NoFault) != 0)
                {
                    return Errno.EFAULT;
                }

                error = FaultInLocked(vma, address, out page);
                if (error != Errno.None)
                {
                    return error;
                }
            }

            // try_grab_folio: a P2P page only for a caller that said it can handle one (spec §4.1).
            if (page!.IsPciP2pdmaPage && (gupFlags & FollFlags.PciP2pdma) == 0)
            {
                page = null;
                return Errno.EREMOTEIO;
            }

            page.Pin();
            return Errno.None;
        }
    }

    /// <summary>
    /// Linux <c>handle_mm_fault</c> for a missing page: an anonymous VMA gets a zeroed host page; a file VMA has
    /// no fault handler here (its pages are inserted at mmap time), so the access fails as SIGBUS does (EFAULT).
    /// Call with the mmap lock held; takes the page-table lock.
    /// </summary>
    private Errno FaultInLocked(VmAreaStruct vma, ulong address, out Page? page)
    {
        lock (_pageTableLock)
        {
            if (_pageTable.TryGetValue(address, out page))
            {
                return Errno.None;
            }

            if (!vma.IsAnonymous)
            {
                return Errno.EFAULT;
            }

            Result<Page> allocated = Page.AllocHost(PageAllocator);
            if (!allocated.IsSuccess)
            {
                return allocated.Error;
            }

            page = allocated.Value;
            _pageTable.Add(address, page);
            return Errno.None;
        }
    }
}
