using System;
using System.Threading;
using P2pEmu.Dma.Mm;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Dma.DmaBuf;

/// <summary>
/// A user CPU mapping of a dma-buf (<c>mmap</c> of its file): the pages <c>[PageOffset, PageOffset + PageCount)</c>
/// of the buffer, with one page-table entry per page. An absent entry faults into the exporter's
/// <see cref="FaultHandler"/>, which installs it (<see cref="InsertPfn"/>) or refuses (SIGBUS); the exporter's
/// <see cref="DmaBufHost.DmaBufZapCpuMappings"/> (<c>unmap_mapping_range</c>) clears every entry. Loads and stores
/// go to the bus address of the entry through the root complex, as MMIO accessors do.
/// </summary>
/// <remarks>
/// <para>
/// Mapped into a process's address space (<see cref="DmaBufHost.DmaBufMmap(DmaBuf, MmStruct, ulong, Prot, ulong)"/>) it
/// is the VMA's <see cref="IPfnMap"/>: its entries are the special PTEs of a VM_PFNMAP | VM_IO mapping, and offsets are
/// relative to the start of the mapping. Made on its own (<see cref="DmaBufHost.DmaBufMmap(DmaBuf, ulong, ulong, bool)"/>)
/// it is such a mapping without a virtual address, for code that only needs the dma-buf rules (§5.8).
/// </para>
/// <para>
/// Thread safety: accesses, installs and zaps serialize on the mapping's page-table lock, so when a zap returns no
/// access through an old entry is in progress. The fault handler runs without that lock.
/// </para>
/// </remarks>
public sealed class DmaBufCpuMapping : IPfnMap
{
    /// <summary>The CPU page size.</summary>
    public const ulong PageSize = 4096;

    private readonly Lock _pageTableLock = new();
    private readonly ulong[] _ptes;
    private bool _unmapped;
    private int _vmaRefs = 1;

    internal DmaBufCpuMapping(DmaBuf dmabuf, ulong pageOffset, ulong pageCount, bool shared)
    {
        DmaBuf = dmabuf;
        PageOffset = pageOffset;
        PageCount = pageCount;
        Shared = shared;
        _ptes = new ulong[pageCount];
    }

    public DmaBuf DmaBuf { get; }

    /// <summary><c>vm_pgoff</c>: the first page of the buffer mapped.</summary>
    public ulong PageOffset { get; }

    /// <summary>Pages mapped (<c>vma_pages</c>).</summary>
    public ulong PageCount { get; }

    /// <summary><c>VM_SHARED</c>.</summary>
    public bool Shared { get; }

    /// <summary><c>vm_private_data</c>, for the exporter.</summary>
    public object? PrivateData { get; set; }

    /// <summary>
    /// <c>vm_ops-&gt;fault</c>, set by the exporter's mmap: called with the page index inside the mapping; installs the
    /// entry with <see cref="InsertPfn"/> and returns true, or returns false for SIGBUS. Null: every fault is SIGBUS.
    /// </summary>
    public Func<DmaBufCpuMapping, ulong, bool>? FaultHandler { get; set; }

    /// <summary>Pages whose entry is present.</summary>
    public int PresentPages
    {
        get
        {
            lock (_pageTableLock)
            {
                int present = 0;
                foreach (ulong pte in _ptes)
                {
                    present += pte != 0 ? 1 : 0;
                }

                return present;
            }
        }
    }

    /// <summary>True after <see cref="Unmap"/>.</summary>
    public bool IsUnmapped
    {
        get
        {
            lock (_pageTableLock)
            {
                return _unmapped;
            }
        }
    }

    /// <summary><c>vmf_insert_pfn</c>: maps page <paramref name="page"/> of the mapping to the page at <paramref name="physAddress"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The page is outside the mapping or the address is not page aligned.</exception>
    public void InsertPfn(ulong page, ulong physAddress)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(page, PageCount);
        if (physAddress == 0 || (physAddress & (PageSize - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(physAddress), $"0x{physAddress:x} is not a page frame.");
        }

        lock (_pageTableLock)
        {
            if (!_unmapped)
            {
                _ptes[page] = physAddress;
            }
        }
    }

    /// <summary>A CPU load of <paramref name="destination"/>.Length bytes at <paramref name="offset"/> into the mapping.</summary>
    /// <returns>None; EFAULT for a page the exporter refused (SIGBUS) or an unmapped mapping; EIO when the bus access was not claimed.</returns>
    public Errno Read(ulong offset, Span<byte> destination) => Copy(offset, destination, default, write: false);

    /// <summary>A CPU store of <paramref name="source"/> at <paramref name="offset"/> into the mapping.</summary>
    /// <returns>None; EFAULT for a page the exporter refused (SIGBUS) or an unmapped mapping; EIO when the bus access was not claimed.</returns>
    public Errno Write(ulong offset, ReadOnlySpan<byte> source) => Copy(offset, default, source, write: true);

    /// <summary>A load into <paramref name="readInto"/> or a store from <paramref name="writeFrom"/>, split at page boundaries.</summary>
    private Errno Copy(ulong offset, Span<byte> readInto, ReadOnlySpan<byte> writeFrom, bool write)
    {
        int length = write ? writeFrom.Length : readInto.Length;
        CheckRange(offset, (ulong)length);
        int done = 0;
        while (done < length)
        {
            ulong at = offset + (ulong)done;
            int n = (int)Math.Min((ulong)(length - done), PageSize - (at & (PageSize - 1)));
            Errno error = write
                ? Access(at, default, writeFrom.Slice(done, n), write: true)
                : Access(at, readInto.Slice(done, n), default, write: false);
            if (error != Errno.None)
            {
                return error;
            }

            done += n;
        }

        return Errno.None;
    }

    /// <summary><c>munmap</c>: removes the mapping and drops its reference to the buffer's file.</summary>
    public void Unmap()
    {
        lock (_pageTableLock)
        {
            if (_unmapped)
            {
                return;
            }

            _unmapped = true;
            Array.Clear(_ptes);
        }

        DmaBuf.RemoveCpuMapping(this);
        DmaBuf.File.Put();
    }

    /// <inheritdoc/>
    public void VmaOpen() => Interlocked.Increment(ref _vmaRefs);

    /// <inheritdoc/>
    public void VmaClose()
    {
        if (Interlocked.Decrement(ref _vmaRefs) == 0)
        {
            Unmap();
        }
    }

    /// <summary>Clears every entry; later accesses fault again.</summary>
    internal void Zap()
    {
        lock (_pageTableLock)
        {
            Array.Clear(_ptes);
        }
    }

    private Errno Access(ulong offset, Span<byte> readInto, ReadOnlySpan<byte> writeFrom, bool write)
    {
        ulong page = offset / PageSize;
        for (int attempt = 0; ; attempt++)
        {
            lock (_pageTableLock)
            {
                if (_unmapped)
                {
                    return Errno.EFAULT;
                }

                ulong pte = _ptes[page];
                if (pte != 0)
                {
                    ulong bus = pte + (offset & (PageSize - 1));
                    bool claimed = write
                        ? DmaBuf.Host.Dma.Fabric.TryHostWrite(bus, writeFrom)
                        : DmaBuf.Host.Dma.Fabric.TryHostRead(bus, readInto);
                    return claimed ? Errno.None : Errno.EIO;
                }
            }

            // A second fault on the same access means the handler installed nothing.
            if (attempt > 0 || FaultHandler is not { } fault || !fault(this, page))
            {
                return Errno.EFAULT;
            }
        }
    }

    private void CheckRange(ulong offset, ulong length)
    {
        ulong size = PageCount * PageSize;
        if (offset > size || length > size - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{length}) is outside the {size}-byte mapping (SIGSEGV).");
        }
    }
}
