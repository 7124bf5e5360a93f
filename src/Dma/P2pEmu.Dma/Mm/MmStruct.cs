using System;
using System.Collections.Generic;
using System.Threading;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Dma.Mm;

/// <summary>
/// Linux <c>struct mm_struct</c>: a user address space made of VMAs (<see cref="VmAreaStruct"/>) and one page
/// table from page-aligned user addresses to <see cref="Page"/>s. It supports mmap of anonymous memory (host RAM
/// pages from the kernel's page allocator, faulted in on first use) and of files with an mmap operation (the
/// p2pmem <c>allocate</c> file), munmap, CPU loads and stores through the page table, and
/// <c>pin_user_pages</c>. A process (fd table and the rest) owns one; this type stands alone.
/// </summary>
/// <remarks>
/// <para>
/// Locks, in the order they nest: <c>mmap_lock</c> (the VMA list; held by mmap, munmap and GUP), a file mapping's
/// lock (<see cref="AddressSpace"/>), then <c>page_table_lock</c> (the page table; held by every page-table change
/// and by each CPU access for its whole copy, so a zap waits for an access in flight, and no access starts
/// through an entry once it is gone). A file's owner zaps mappings with the page-table lock alone, never the
/// mmap lock, as Linux's <c>unmap_mapping_range</c> does.
/// </para>
/// <para>Thread safety: every member may be called from any thread.</para>
/// </remarks>
public sealed partial class MmStruct : IDisposable
{
    /// <summary><c>TASK_SIZE</c> on x86-64 with 4-level paging: user addresses end here.</summary>
    public const ulong TaskSize = 0x7fff_ffff_f000;

    /// <summary><c>mmap_base</c>: mappings without an address are placed top-down below it.</summary>
    public const ulong MmapBase = 0x7f00_0000_0000;

    /// <summary><c>mmap_min_addr</c>: nothing is mapped below it.</summary>
    public const ulong MmapMinAddr = 0x1_0000;

    private const ulong PageMask = Page.PageSize - 1;

    private readonly Lock _mmapLock = new();
    private readonly Lock _pageTableLock = new();

    // Sorted by Start, never overlapping. Guarded by _mmapLock.
    private readonly List<VmAreaStruct> _vmas = new();

    // Page-aligned user address -> the page mapped there. Guarded by _pageTableLock.
    private readonly Dictionary<ulong, Page> _pageTable = new();
    private bool _disposed;

    /// <summary>An empty address space.</summary>
    /// <param name="fabric">The machine: CPU loads and stores go through its root complex.</param>
    /// <param name="pageAllocator">The kernel's page allocator, which backs anonymous memory.</param>
    /// <param name="comm">The name of the task using the address space, as kernel log lines print it (<c>current-&gt;comm</c>).</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public MmStruct(PcieFabric fabric, HostPageAllocator pageAllocator, string comm = "p2pemu")
    {
        ArgumentNullException.ThrowIfNull(fabric);
        ArgumentNullException.ThrowIfNull(pageAllocator);
        ArgumentNullException.ThrowIfNull(comm);
        Fabric = fabric;
        PageAllocator = pageAllocator;
        Comm = comm;
    }

    public PcieFabric Fabric { get; }

    public HostPageAllocator PageAllocator { get; }

    /// <summary>The task name kernel log lines print for this address space.</summary>
    public string Comm { get; }

    /// <summary>A snapshot of the VMAs, lowest address first.</summary>
    public IReadOnlyList<VmAreaStruct> Vmas
    {
        get
        {
            lock (_mmapLock)
            {
                return _vmas.ToArray();
            }
        }
    }

    /// <summary>How many page-table entries are present.</summary>
    public int PresentPteCount
    {
        get
        {
            lock (_pageTableLock)
            {
                return _pageTable.Count;
            }
        }
    }

    /// <summary>Linux <c>find_vma</c>-style lookup: the VMA containing <paramref name="address"/>, or null.</summary>
    public VmAreaStruct? FindVma(ulong address)
    {
        lock (_mmapLock)
        {
            return FindVmaLocked(address);
        }
    }

    /// <summary>The page mapped at <paramref name="address"/> (any address inside the page), or null when none is.</summary>
    public Page? FollowPte(ulong address)
    {
        lock (_pageTableLock)
        {
            return _pageTable.TryGetValue(address & ~PageMask, out Page? page) ? page : null;
        }
    }

    /// <summary>A snapshot of the present page-table entries: (user address, page).</summary>
    public IReadOnlyList<KeyValuePair<ulong, Page>> PresentPtes()
    {
        lock (_pageTableLock)
        {
            return new List<KeyValuePair<ulong, Page>>(_pageTable);
        }
    }

    /// <summary>
    /// Linux <c>exit_mmap</c>: unmaps everything, as when the last user of the address space exits. Pinned pages
    /// stay allocated until they are unpinned. Idempotent.
    /// </summary>
    public void Dispose()
    {
        lock (_mmapLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            DoMunmapLocked(0, TaskSize);
        }
    }

    /// <summary>Maps <paramref name="page"/> at <paramref name="address"/> with a new reference (vm_insert_page's second half).</summary>
    internal Errno InsertPte(ulong address, Page page)
    {
        lock (_pageTableLock)
        {
            if (_pageTable.ContainsKey(address))
            {
                return Errno.EBUSY;
            }

            page.Get();
            _pageTable.Add(address, page);
            return Errno.None;
        }
    }

    /// <summary>
    /// Removes the page-table entries of [<paramref name="start"/>, <paramref name="end"/>) and drops their
    /// references; a page whose last reference goes is freed. Takes only the page-table lock.
    /// </summary>
    internal void ZapPteRange(ulong start, ulong end)
    {
        lock (_pageTableLock)
        {
            List<ulong>? present = null;
            ulong pages = (end - start) >> Page.PageShift;
            if (pages <= (ulong)_pageTable.Count)
            {
                for (ulong address = start; address < end; address += Page.PageSize)
                {
                    if (_pageTable.ContainsKey(address))
                    {
                        (present ??= new List<ulong>()).Add(address);
                    }
                }
            }
            else
            {
                foreach (ulong address in _pageTable.Keys)
                {
                    if (address >= start && address < end)
                    {
                        (present ??= new List<ulong>()).Add(address);
                    }
                }
            }

            if (present is null)
            {
                return;
            }

            // Linux frees the pages after the TLB flush; here nothing can reach them once the entries are gone,
            // and freeing inside the lock makes "the zap returned" mean "the pages were given back".
            foreach (ulong address in present)
            {
                _pageTable.Remove(address, out Page? page);
                page!.Put();
            }
        }
    }

    private VmAreaStruct? FindVmaLocked(ulong address)
    {
        int lo = 0;
        int hi = _vmas.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            VmAreaStruct vma = _vmas[mid];
            if (address < vma.Start)
            {
                hi = mid - 1;
            }
            else if (address >= vma.End)
            {
                lo = mid + 1;
            }
            else
            {
                return vma;
            }
        }

        return null;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
