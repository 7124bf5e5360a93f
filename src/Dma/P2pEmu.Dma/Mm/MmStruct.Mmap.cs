using System;
using System.Collections.Generic;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Dma.Mm;

/// <content>mmap(2) and munmap(2) (mm/mmap.c, mm/vma.c).</content>
public sealed partial class MmStruct
{
    /// <summary>
    /// mmap(2): maps <paramref name="length"/> bytes (rounded up to whole pages) of anonymous memory or of
    /// <paramref name="file"/> from <paramref name="offset"/>. Without MAP_FIXED the address is a hint, used when
    /// that range is free; otherwise the mapping goes top-down below <see cref="MmapBase"/>. MAP_FIXED replaces
    /// whatever was mapped in the range. A file's mmap operation runs with the new VMA linked into the file's
    /// mapping but not yet visible here; anonymous pages are faulted in on first use (all at once with
    /// MAP_POPULATE).
    /// </summary>
    /// <returns>
    /// The address, or, in the kernel's order: EINVAL for an offset that is not page aligned; EBADF for a file
    /// mapping without a file; EINVAL for length 0; ENOMEM when the length overflows when rounded up;
    /// EINVAL for an unaligned MAP_FIXED address; ENOMEM when
    /// no free range is large enough or a MAP_FIXED range leaves user space; EPERM for a MAP_FIXED address below
    /// <see cref="MmapMinAddr"/>; EINVAL when the flags are neither MAP_SHARED nor MAP_PRIVATE; then whatever
    /// the file's mmap operation returns.
    /// </returns>
    /// <exception cref="ArgumentException">MAP_ANONYMOUS together with a file.</exception>
    /// <exception cref="ObjectDisposedException">The address space was torn down.</exception>
    public Result<ulong> Mmap(ulong address, ulong length, Prot prot, MapFlags flags, IMmapFile? file = null, ulong offset = 0)
    {
        bool anonymous = (flags & MapFlags.Anonymous) != 0;
        if (anonymous && file is not null)
        {
            throw new ArgumentException("MAP_ANONYMOUS maps no file.", nameof(file));
        }

        if ((offset & PageMask) != 0)
        {
            return Errno.EINVAL;
        }

        if (!anonymous && file is null)
        {
            return Errno.EBADF;
        }

        if (length == 0)
        {
            return Errno.EINVAL;
        }

        if (length > ulong.MaxValue - PageMask)
        {
            return Errno.ENOMEM;
        }

        ulong len = (length + PageMask) & ~PageMask;
        ulong pgOff = offset >> Page.PageShift;

        bool fixedAddress = (flags & MapFlags.Fixed) != 0;
        bool shared;
        lock (_mmapLock)
        {
            ThrowIfDisposed();
            Result<ulong> area = GetUnmappedAreaLocked(address, len, fixedAddress);
            if (!area.IsSuccess)
            {
                return area;
            }

            switch (flags & MapFlags.TypeMask)
            {
                case MapFlags.Shared:
                case MapFlags.SharedValidate:
                    shared = true;
                    break;
                case MapFlags.Private:
                    shared = false;
                    break;
                default:
                    return Errno.EINVAL;
            }

            ulong start = area.Value;
            if (fixedAddress)
            {
                DoMunmapLocked(start, start + len);
            }

            VmFlags vmFlags = ProtToVmFlags(prot) | VmFlags.MayRead | VmFlags.MayWrite | VmFlags.MayExec
                | (shared ? VmFlags.Shared | VmFlags.MayShare : VmFlags.None);
            var vma = new VmAreaStruct(this, start, start + len, vmFlags, file, anonymous ? 0 : pgOff);
            if (file is not null)
            {
                // Linked before the mmap operation runs, so its owner's unmap_mapping_range finds every page the
                // operation inserts, however the two race.
                file.Mapping.Link(vma);
                Errno error = file.Mmap(vma);
                if (error != Errno.None)
                {
                    ZapPteRange(vma.Start, vma.End);
                    file.Mapping.Unlink(vma);
                    vma.IsDetached = true;
                    vma.PfnMap?.VmaClose();
                    return error;
                }
            }

            InsertVmaLocked(vma);
            if (anonymous && (flags & MapFlags.Populate) != 0)
            {
                // mm_populate: failures are ignored; the pages fault in later, or the access fails then.
                for (ulong page = vma.Start; page < vma.End; page += Page.PageSize)
                {
                    if (FaultInLocked(vma, page, out _) != Errno.None)
                    {
                        break;
                    }
                }
            }

            return Result.Ok(start);
        }
    }

    /// <summary>
    /// munmap(2): unmaps every page of [<paramref name="address"/>, <paramref name="address"/> +
    /// <paramref name="length"/>), cutting VMAs that reach outside the range. Mapped pages lose their page-table
    /// reference (pinned pages stay allocated until they are unpinned). Unmapping a range with nothing mapped
    /// succeeds.
    /// </summary>
    /// <returns>None; EINVAL for an unaligned address, length 0, or a range that leaves user space.</returns>
    /// <exception cref="ObjectDisposedException">The address space was torn down.</exception>
    public Errno Munmap(ulong address, ulong length)
    {
        if ((address & PageMask) != 0 || length == 0 || length > TaskSize)
        {
            return Errno.EINVAL;
        }

        ulong len = (length + PageMask) & ~PageMask;
        if (address > TaskSize - len)
        {
            return Errno.EINVAL;
        }

        lock (_mmapLock)
        {
            ThrowIfDisposed();
            DoMunmapLocked(address, address + len);
            return Errno.None;
        }
    }

    private static VmFlags ProtToVmFlags(Prot prot) =>
        ((prot & Prot.Read) != 0 ? VmFlags.Read : VmFlags.None)
        | ((prot & Prot.Write) != 0 ? VmFlags.Write : VmFlags.None)
        | ((prot & Prot.Exec) != 0 ? VmFlags.Exec : VmFlags.None);

    /// <summary>Linux <c>get_unmapped_area</c> with the top-down allocator.</summary>
    private Result<ulong> GetUnmappedAreaLocked(ulong hint, ulong len, bool fixedAddress)
    {
        if (len > TaskSize - MmapMinAddr)
        {
            return Errno.ENOMEM;
        }

        if (fixedAddress)
        {
            if ((hint & PageMask) != 0)
            {
                return Errno.EINVAL;
            }

            if (hint > TaskSize - len)
            {
                return Errno.ENOMEM;
            }

            return hint < MmapMinAddr ? Errno.EPERM : Result.Ok(hint);
        }

        hint &= ~PageMask;
        if (hint >= MmapMinAddr && hint <= TaskSize - len && IsFreeLocked(hint, hint + len))
        {
            return Result.Ok(hint);
        }

        if (len > MmapBase - MmapMinAddr)
        {
            return Errno.ENOMEM;
        }

        ulong candidate = MmapBase - len;
        for (int i = _vmas.Count - 1; i >= 0; i--)
        {
            VmAreaStruct vma = _vmas[i];
            if (vma.Start >= candidate + len)
            {
                continue;
            }

            if (vma.End <= candidate)
            {
                break;
            }

            if (vma.Start < MmapMinAddr + len)
            {
                return Errno.ENOMEM;
            }

            candidate = vma.Start - len;
        }

        return Result.Ok(candidate);
    }

    private bool IsFreeLocked(ulong start, ulong end)
    {
        foreach (VmAreaStruct vma in _vmas)
        {
            if (vma.Start < end && start < vma.End)
            {
                return false;
            }
        }

        return true;
    }

    private void InsertVmaLocked(VmAreaStruct vma)
    {
        int index = 0;
        while (index < _vmas.Count && _vmas[index].Start < vma.Start)
        {
            index++;
        }

        _vmas.Insert(index, vma);
    }

    /// <summary>Linux <c>do_vmi_munmap</c>: zap, then cut or drop every VMA overlapping [start, end).</summary>
    private void DoMunmapLocked(ulong start, ulong end)
    {
        List<VmAreaStruct>? overlapping = null;
        foreach (VmAreaStruct vma in _vmas)
        {
            if (vma.Start < end && start < vma.End)
            {
                (overlapping ??= new List<VmAreaStruct>()).Add(vma);
            }
        }

        if (overlapping is null)
        {
            return;
        }

        ZapPteRange(Math.Max(start, overlapping[0].Start), Math.Min(end, overlapping[^1].End));
        foreach (VmAreaStruct vma in overlapping)
        {
            var pieces = new List<VmAreaStruct>(2);
            if (vma.Start < start)
            {
                pieces.Add(vma.Piece(vma.Start, start, vma.PgOff));
            }

            if (end < vma.End)
            {
                ulong pgOff = vma.IsAnonymous ? 0 : vma.PgOff + ((end - vma.Start) >> Page.PageShift);
                pieces.Add(vma.Piece(end, vma.End, pgOff));
            }

            vma.File?.Mapping.Replace(vma, pieces);
            vma.IsDetached = true;
            vma.PfnMap?.VmaClose();
            int index = _vmas.IndexOf(vma);
            _vmas.RemoveAt(index);
            _vmas.InsertRange(index, pieces);
        }
    }
}
