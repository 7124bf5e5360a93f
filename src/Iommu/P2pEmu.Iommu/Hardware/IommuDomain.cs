using System;
using System.Collections.Generic;
using System.Diagnostics.Tracing;
using System.Threading;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Iommu.Hardware;

/// <summary>
/// An IOMMU paging domain (Linux <c>struct iommu_domain</c> of type UNMANAGED/DMA): a tree of
/// <see cref="PageTableGeometry"/> page tables in emulated host RAM, in the <see cref="PageTableEntry"/> format,
/// that the IOMMU walks for every requester attached to the domain. The host API maps and unmaps IOVA ranges the way
/// Linux's <c>iommu_map</c>/<c>iommu_unmap</c> do, and ends each change with the IOTLB invalidation it needs.
/// </summary>
/// <remarks>
/// <para>
/// Page-table pages come from a <see cref="HostPageAllocator"/>. As in Intel's driver (<c>dma_pte_clear_level</c>), an
/// unmap frees a table only when the unmapped range covers everything the table maps, and only after the IOTLB
/// invalidation; a table left empty by smaller unmaps, or made by a map that then failed, stays for the next map. The host reads and writes entries
/// through the root complex (<see cref="PcieFabric.TryHostRead64"/>/<see cref="PcieFabric.TryHostWrite64"/>) with
/// single 8-byte accesses, so a walker on another thread sees each entry either before or after a change.
/// </para>
/// <para>
/// Thread safety: as in Intel's driver, <see cref="Map"/>, <see cref="Unmap"/> and <see cref="UnmapFast"/> take no
/// lock. A missing table is installed with a compare-and-exchange on its entry (<c>pfn_to_dma_pte</c>'s
/// <c>try_cmpxchg64</c>), so maps on several threads that need the same new table agree on one and free the pages
/// they lose with; leaves are written with plain stores. Callers map and unmap disjoint ranges, as the IOVA
/// allocator hands them out; overlapping calls at once are a caller bug, as in Linux. <see cref="Dispose"/> must not
/// run beside them. The hardware walks concurrently. As in Linux, a caller must not unmap a range while a device
/// may still DMA to it: a freed table page could be reused before such a walk finishes.
/// </para>
/// </remarks>
public sealed class IommuDomain : IDisposable
{
    private static int s_nextId;

    private readonly PcieFabric _fabric;
    private readonly HostPageAllocator _pages;
    private readonly PageTableWalker _walker;

    // Guards the attachments, the tables kept for IotlbSync, and Dispose.
    private readonly Lock _lock = new();

    // Table pages an unmap on this thread unhooked, when the caller gave no freelist.
    [ThreadStatic]
    private static List<ulong>? s_unhooked;

    // Table pages in the tree, the root included.
    private int _tableCount = 1;

    // IOMMUs this domain is attached to, with how many requester IDs on each.
    private readonly Dictionary<IommuUnit, int> _attachments = new();

    // The same units as an array, read without the lock by invalidations.
    private IommuUnit[] _units = [];

    // Table pages UnmapFast unhooked without a freelist, freed by the next IotlbSync.
    private readonly List<ulong> _emptied = new();
    private volatile bool _disposed;

    private IommuDomain(PcieFabric fabric, HostPageAllocator pages, ulong root)
    {
        _fabric = fabric;
        _pages = pages;
        _walker = new PageTableWalker(fabric);
        Id = Interlocked.Increment(ref s_nextId);
        RootTable = new BusAddress(root);
    }

    /// <summary>The domain's number, unique in the process (the IOTLB's tag, VT-d's domain id); never 0.</summary>
    public int Id { get; }

    /// <summary>Bus address of the level-4 (root) table.</summary>
    public BusAddress RootTable { get; }

    /// <summary>The fabric whose RAM holds the page tables.</summary>
    public PcieFabric Fabric => _fabric;

    /// <summary>
    /// Bytes currently mapped, counted by walking the tables (Linux keeps no such count, so maps and unmaps do not
    /// either); while other threads map and unmap, a snapshot. 0 once disposed.
    /// </summary>
    public ulong MappedBytes => _disposed ? 0 : MappedBytesBelow(RootTable.Value, PageTableGeometry.Levels);

    /// <summary>Page-table pages the domain holds, the root included.</summary>
    public int PageTableCount => Volatile.Read(ref _tableCount);

    /// <summary>True while some requester ID on some IOMMU is attached.</summary>
    public bool IsAttached
    {
        get
        {
            lock (_lock)
            {
                return _attachments.Count != 0;
            }
        }
    }

    /// <summary>
    /// Maps [<paramref name="iova"/>, + <paramref name="sizeBytes"/>) to [<paramref name="target"/>, + <paramref name="sizeBytes"/>)
    /// as Linux <c>iommu_map</c> does: each step uses the largest page size of <see cref="PageTableGeometry.PageSizeBitmap"/>
    /// that fits the remaining size and to which both addresses are aligned (<c>iommu_pgsize</c>).
    /// </summary>
    /// <param name="target">The bus address the device reaches: host RAM or a peer BAR.</param>
    /// <returns>
    /// <see cref="Errno.None"/>; <see cref="Errno.EINVAL"/> when an address or the size is not 4 KiB aligned, the
    /// permission is empty, or the target is beyond 52 bits; <see cref="Errno.EFAULT"/> when the range ends beyond
    /// the 48-bit aperture (Intel's "iommu width is not sufficient"); <see cref="Errno.EEXIST"/> when part of the range
    /// is mapped already; <see cref="Errno.ENOMEM"/> when no page is left for a table. On an error nothing stays
    /// mapped: what this call mapped is unmapped again, as <c>iommu_map</c> does.
    /// </returns>
    /// <exception cref="ObjectDisposedException">The domain was disposed.</exception>
    public Errno Map(Iova iova, BusAddress target, ulong sizeBytes, IommuProt prot)
    {
        ulong va = iova.Value;
        ulong pa = target.Value;
        if (((va | pa | sizeBytes) & PageTableGeometry.PageMask) != 0 || (prot & IommuProt.ReadWrite) == 0 || (prot & ~IommuProt.ReadWrite) != 0)
        {
            return Errno.EINVAL;
        }

        if (sizeBytes == 0)
        {
            return Errno.None;
        }

        if (va > PageTableGeometry.MaxIova || sizeBytes - 1 > PageTableGeometry.MaxIova - va)
        {
            return Errno.EFAULT;
        }

        if (pa > PageTableEntry.MaxAddress || sizeBytes - 1 > PageTableEntry.MaxAddress - pa)
        {
            return Errno.EINVAL;
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        ulong done = 0;
        Errno error = Errno.None;
        while (done < sizeBytes)
        {
            int level = LeafLevelFor(va + done, pa + done, sizeBytes - done);
            ulong mapped;
            if (level == 1)
            {
                error = MapPages(va + done, pa + done, sizeBytes - done, prot, out mapped);
            }
            else
            {
                error = MapOne(va + done, pa + done, level, prot);
                mapped = error == Errno.None ? PageTableGeometry.LevelSize(level) : 0;
            }

            done += mapped;
            if (error != Errno.None)
            {
                break;
            }
        }

        if (error != Errno.None)
        {
            List<ulong> unhooked = UnhookedScratch();
            UnmapRange(va, done, unhooked, out ulong first, out ulong end);
            Invalidate(first, end, leafOnly: unhooked.Count == 0);
            FreePageTables(unhooked);
            return error;
        }

        // Nothing present was overwritten, so no IOTLB entry can be stale, and the IOTLB caches no non-present
        // entries: like VT-d and AMD-Vi hardware without caching mode (iotlb_sync_map is a no-op there), a map
        // needs no invalidation.

        IommuEventSource log = IommuEventSource.Log;
        if (log.IsEnabled(EventLevel.Informational, IommuEventSource.Keywords.Mappings))
        {
            log.Mapped(Id, (long)va, (long)sizeBytes);
        }

        return Errno.None;
    }

    /// <summary>
    /// Unmaps from <paramref name="iova"/> as Linux <c>iommu_unmap</c> does, stopping at the first IOVA that is not
    /// mapped. A leaf larger than what is asked for is unmapped whole (Intel's driver does the same), so the result
    /// can exceed <paramref name="sizeBytes"/>. Ends with an IOTLB invalidation of everything unmapped.
    /// </summary>
    /// <returns>Bytes unmapped; 0 when <paramref name="iova"/> or <paramref name="sizeBytes"/> is not 4 KiB aligned or nothing was mapped there.</returns>
    /// <exception cref="ObjectDisposedException">The domain was disposed.</exception>
    public ulong Unmap(Iova iova, ulong sizeBytes)
    {
        var gather = new IommuIotlbGather();
        List<ulong> unhooked = UnhookedScratch();
        ulong unmapped = UnmapFast(iova, sizeBytes, ref gather, unhooked);
        Invalidate(gather.Start, gather.End, leafOnly: unhooked.Count == 0);
        FreePageTables(unhooked);
        return unmapped;
    }

    /// <summary>
    /// Linux <c>iommu_unmap_fast</c>: clears the entries as <see cref="Unmap"/> does but invalidates nothing. The range
    /// unmapped is added to <paramref name="gather"/>, and the table pages it emptied are moved to
    /// <paramref name="freelist"/> (or kept on the domain when null) to be freed after the invalidation: by
    /// <see cref="IotlbSync"/> (strict), or by the flush queue after <see cref="FlushIotlbAll"/> (lazy). Until then the
    /// IOTLB may still translate the range.
    /// </summary>
    /// <returns>Bytes unmapped, as <see cref="Unmap"/>.</returns>
    /// <exception cref="ObjectDisposedException">The domain was disposed.</exception>
    public ulong UnmapFast(Iova iova, ulong sizeBytes, ref IommuIotlbGather gather, List<ulong>? freelist)
    {
        ulong va = iova.Value;
        if (((va | sizeBytes) & PageTableGeometry.PageMask) != 0 || sizeBytes == 0 || va > PageTableGeometry.MaxIova)
        {
            return 0;
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        List<ulong> unhooked = freelist ?? UnhookedScratch();
        ulong unmapped = UnmapRange(va, sizeBytes, unhooked, out ulong first, out ulong end);
        if (unmapped != 0)
        {
            gather.Add(first, end);
        }

        if (freelist is null && unhooked.Count != 0)
        {
            lock (_lock)
            {
                _emptied.AddRange(unhooked);
            }

            unhooked.Clear();
        }

        IommuEventSource log = IommuEventSource.Log;
        if (log.IsEnabled(EventLevel.Informational, IommuEventSource.Keywords.Mappings))
        {
            log.Unmapped(Id, (long)va, (long)unmapped);
        }

        return unmapped;
    }

    /// <summary>
    /// Linux <c>iommu_iotlb_sync</c>: invalidates the range gathered by <see cref="UnmapFast"/> on every IOMMU the domain
    /// is attached to, then frees the table pages the domain kept; resets <paramref name="gather"/>.
    /// </summary>
    /// <remarks>
    /// With no table page kept, the invalidation carries the hint that no entry pointing to a table changed (as Linux's
    /// <c>intel_iommu_tlb_sync</c> with an empty freelist), so the paging-structure caches keep their regions. With
    /// pages kept (by any caller), it is domain-wide: they may be other ranges' tables, and none may be freed while a
    /// paging-structure cache can still walk it.
    /// </remarks>
    public void IotlbSync(ref IommuIotlbGather gather)
    {
        List<ulong>? emptied = null;
        lock (_lock)
        {
            if (_emptied.Count != 0)
            {
                emptied = [.. _emptied];
                _emptied.Clear();
            }
        }

        if (emptied is null)
        {
            Invalidate(gather.Start, gather.End, leafOnly: true);
        }
        else
        {
            FlushIotlbAll();
            FreePageTables(emptied);
        }

        gather = default;
    }

    /// <summary>
    /// Linux <c>flush_iotlb_all</c>: removes every IOTLB entry of this domain on every IOMMU it is attached to (the
    /// flush queue's batch invalidation).
    /// </summary>
    public void FlushIotlbAll()
    {
        foreach (IommuUnit unit in Volatile.Read(ref _units))
        {
            unit.IoTlb.InvalidateDomain(Id);
        }
    }

    /// <summary>Frees table pages that <see cref="UnmapFast"/> moved to a freelist, once the IOTLB was flushed.</summary>
    /// <remarks>The pages left the domain's tables when they were unhooked, so this works after <see cref="Dispose"/> too.</remarks>
    public void FreePageTables(List<ulong> freelist)
    {
        ArgumentNullException.ThrowIfNull(freelist);
        foreach (ulong table in freelist)
        {
            _pages.FreePage(table);
        }

        freelist.Clear();
    }

    /// <summary>
    /// Linux <c>iommu_iova_to_phys</c>: a host-side walk of the tables (no IOTLB, no fault record, permissions ignored).
    /// </summary>
    /// <returns>True with the bus address <paramref name="iova"/> maps to and the mapping's permissions.</returns>
    /// <exception cref="ObjectDisposedException">The domain was disposed.</exception>
    public bool TryIovaToPhys(Iova iova, out BusAddress address, out IommuProt prot)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_walker.TryWalk(RootTable, iova, IommuProt.None, out PageWalkResult walk))
        {
            address = walk.Translate(iova);
            prot = walk.Permissions;
            return true;
        }

        address = default;
        prot = IommuProt.None;
        return false;
    }

    /// <summary>Linux <c>iommu_iova_to_phys</c>: the bus address <paramref name="iova"/> maps to, or 0 when it is not mapped.</summary>
    /// <exception cref="ObjectDisposedException">The domain was disposed.</exception>
    public ulong IovaToPhys(Iova iova) => TryIovaToPhys(iova, out BusAddress address, out _) ? address.Value : 0;

    /// <summary>Frees every page-table page. The domain must be detached from every requester first.</summary>
    /// <exception cref="InvalidOperationException">A requester is still attached.</exception>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            if (_attachments.Count != 0)
            {
                throw new InvalidOperationException($"IOMMU domain {Id} is still attached to a device; detach it before disposing.");
            }

            _disposed = true;
            ListTables(RootTable.Value, PageTableGeometry.Levels, _emptied);
            FreePageTables(_emptied);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"IOMMU domain {Id} (root {RootTable})";

    /// <summary>Allocates an empty domain whose root table is a fresh page of <paramref name="pages"/>.</summary>
    internal static Result<IommuDomain> Allocate(PcieFabric fabric, HostPageAllocator pages)
    {
        Result<ulong> root = pages.AllocPage();
        if (!root.IsSuccess)
        {
            return root.Error;
        }

#pragma warning disable CA2000 // Ownership passes to the caller through the result.
        return Result.Ok(new IommuDomain(fabric, pages, root.Value));
#pragma warning restore CA2000
    }

    /// <summary>Records one more requester ID on <paramref name="unit"/> using this domain.</summary>
    internal void AddAttachment(IommuUnit unit)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _attachments[unit] = _attachments.GetValueOrDefault(unit) + 1;
            Volatile.Write(ref _units, [.. _attachments.Keys]);
        }
    }

    /// <summary>Records one requester ID fewer on <paramref name="unit"/>; true when it was the last one there.</summary>
    internal bool RemoveAttachment(IommuUnit unit)
    {
        lock (_lock)
        {
            int count = _attachments[unit] - 1;
            if (count == 0)
            {
                _attachments.Remove(unit);
                Volatile.Write(ref _units, [.. _attachments.Keys]);
                return true;
            }

            _attachments[unit] = count;
            return false;
        }
    }

    /// <summary>The level of the leaf for the next step: the largest page that fits and both addresses are aligned to.</summary>
    private static int LeafLevelFor(ulong va, ulong pa, ulong remaining)
    {
        for (int level = PageTableGeometry.MaxLeafLevel; level > 1; level--)
        {
            ulong size = PageTableGeometry.LevelSize(level);
            if (size <= remaining && ((va | pa) & (size - 1)) == 0)
            {
                return level;
            }
        }

        return 1;
    }

    private static ulong EntryAddress(ulong table, ulong va, int level) =>
        table + (PageTableGeometry.EntryIndex(va, level) * PageTableGeometry.EntryBytes);

    /// <summary>Maps one leaf at <paramref name="leafLevel"/>, creating tables on the way.</summary>
    private Errno MapOne(ulong va, ulong pa, int leafLevel, IommuProt prot)
    {
        Errno error = WalkToTable(va, leafLevel, out ulong table);
        if (error != Errno.None)
        {
            return error;
        }

        ulong leafAddress = EntryAddress(table, va, leafLevel);
        if (ReadEntry(leafAddress).IsPresent)
        {
            return Errno.EEXIST;
        }

        WriteEntry(leafAddress, PageTableEntry.Leaf(pa, prot, leafLevel));
        return Errno.None;
    }

    /// <summary>
    /// Maps 4 KiB pages from <paramref name="va"/> up to <paramref name="remaining"/> bytes or the end of the leaf table
    /// that holds <paramref name="va"/>'s entry, whichever comes first (Linux's <c>map_pages</c> with a page count): the
    /// tables above are walked (and made) once, the leaf entries are read in one access and each is written with its
    /// own 8-byte store. Stops at the first entry already present (EEXIST).
    /// </summary>
    /// <param name="mapped">Bytes mapped, also on error.</param>
    private Errno MapPages(ulong va, ulong pa, ulong remaining, IommuProt prot, out ulong mapped)
    {
        mapped = 0;
        Errno error = WalkToTable(va, 1, out ulong table);
        if (error != Errno.None)
        {
            return error;
        }

        int index = (int)PageTableGeometry.EntryIndex(va, 1);
        int count = (int)Math.Min(remaining >> PageTableGeometry.PageShift, (ulong)(PageTableGeometry.EntriesPerTable - index));
        ulong first = table + ((ulong)index * PageTableGeometry.EntryBytes);
        Span<byte> entries = stackalloc byte[count * PageTableGeometry.EntryBytes];
        ReadEntries(first, entries);
        int free = 0;
        while (free < count && !PageTableEntry.At(entries, free).IsPresent)
        {
            free++;
        }

        for (int i = 0; i < free; i++)
        {
            WriteEntry(first + ((ulong)i * PageTableGeometry.EntryBytes), PageTableEntry.Leaf(pa + ((ulong)i << PageTableGeometry.PageShift), prot, 1));
        }

        mapped = (ulong)free << PageTableGeometry.PageShift;
        return free < count ? Errno.EEXIST : Errno.None;
    }

    /// <summary>
    /// Walks from the root to the table at <paramref name="leafLevel"/> for <paramref name="va"/>, making missing tables
    /// (<c>pfn_to_dma_pte</c>): a new table is installed only if its entry is still empty, and a thread that loses
    /// that race frees its page and goes on with the winner's. EEXIST when a large page is in the way, ENOMEM when no
    /// page is left for a table; the tables made on the way stay, as in Intel's driver.
    /// </summary>
    private Errno WalkToTable(ulong va, int leafLevel, out ulong table)
    {
        table = RootTable.Value;
        for (int level = PageTableGeometry.Levels; level > leafLevel; level--)
        {
            ulong entryAddress = EntryAddress(table, va, level);
            PageTableEntry pte = ReadEntry(entryAddress);
            if (!pte.IsPresent)
            {
                Result<ulong> page = _pages.AllocPage();
                if (!page.IsSuccess)
                {
                    return page.Error;
                }

                PageTableEntry made = PageTableEntry.Table(page.Value);
                pte = InstallTable(entryAddress, pte, made);
                if (pte.Value == made.Value)
                {
                    Interlocked.Increment(ref _tableCount);
                    table = page.Value;
                    continue;
                }

                _pages.FreePage(page.Value);
            }

            if (pte.IsLargePage)
            {
                return Errno.EEXIST;
            }

            table = pte.Address;
        }

        return Errno.None;
    }

    /// <summary>
    /// Clears leaves from <paramref name="va"/> on, <paramref name="sizeBytes"/> worth, stopping at a hole, then unhooks
    /// the tables the cleared range [<paramref name="first"/>, <paramref name="end"/>) covers whole onto
    /// <paramref name="unhooked"/>. The caller then invalidates that range and frees the unhooked tables.
    /// </summary>
    private ulong UnmapRange(ulong va, ulong sizeBytes, List<ulong> unhooked, out ulong first, out ulong end)
    {
        ulong unmapped = 0;
        first = ulong.MaxValue;
        end = 0;
        ulong cursor = va;
        ulong remaining = sizeBytes;
        while (remaining > 0)
        {
            ulong table = RootTable.Value;
            int leafLevel = 0;
            ulong leafAddress = 0;
            for (int level = PageTableGeometry.Levels; level >= 1; level--)
            {
                ulong entryAddress = EntryAddress(table, cursor, level);
                PageTableEntry pte = ReadEntry(entryAddress);
                if (!pte.IsPresent)
                {
                    break;
                }

                if (pte.IsLeafAt(level))
                {
                    leafLevel = level;
                    leafAddress = entryAddress;
                    break;
                }

                table = pte.Address;
            }

            if (leafLevel == 0)
            {
                break;
            }

            if (leafLevel == 1)
            {
                // 4 KiB leaves: clear the run of present entries in this table at once, as unmap_pages does.
                int cleared = ClearLeafRun(leafAddress, cursor, remaining);
                ulong runBytes = (ulong)cleared << PageTableGeometry.PageShift;
                unmapped += runBytes;
                first = Math.Min(first, cursor);
                end = Math.Max(end, cursor + runBytes);
                int wanted = (int)Math.Min(remaining >> PageTableGeometry.PageShift, (ulong)(PageTableGeometry.EntriesPerTable - (int)PageTableGeometry.EntryIndex(cursor, 1)));
                if (runBytes >= remaining || cleared < wanted)
                {
                    break; // done, or a hole: iommu_unmap stops at the first IOVA that is not mapped
                }

                remaining -= runBytes;
                cursor += runBytes;
                continue;
            }

            WriteEntry(leafAddress, default);

            ulong leafSize = PageTableGeometry.LevelSize(leafLevel);
            ulong leafStart = cursor & ~(leafSize - 1);
            ulong next = leafStart + leafSize;
            unmapped += leafSize;
            first = Math.Min(first, leafStart);
            end = Math.Max(end, next);
            ulong consumed = next - cursor;
            if (consumed >= remaining)
            {
                break;
            }

            remaining -= consumed;
            cursor = next;
        }

        if (unmapped != 0 && end - first >= PageTableGeometry.LevelSize(2))
        {
            UnhookCoveredTables(RootTable.Value, PageTableGeometry.Levels, first, end, unhooked);
        }

        return unmapped;
    }

    /// <summary>
    /// Intel's <c>dma_pte_clear_level</c> for a range already cleared: in the table at <paramref name="level"/>, each
    /// entry pointing to a table whose span lies inside [<paramref name="first"/>, <paramref name="end"/>) is cleared and
    /// its tables are listed on <paramref name="unhooked"/>; an entry whose span only overlaps the range is descended
    /// into.
    /// </summary>
    private void UnhookCoveredTables(ulong table, int level, ulong first, ulong end, List<ulong> unhooked)
    {
        ulong size = PageTableGeometry.LevelSize(level);
        for (ulong va = first & ~(size - 1); va < end; va += size)
        {
            ulong entryAddress = EntryAddress(table, va, level);
            PageTableEntry pte = ReadEntry(entryAddress);
            if (!pte.IsPresent || pte.IsLeafAt(level))
            {
                continue;
            }

            if (first <= va && va + size <= end)
            {
                WriteEntry(entryAddress, default);
                ListTables(pte.Address, level - 1, unhooked);
            }
            else if (level > 2)
            {
                UnhookCoveredTables(pte.Address, level - 1, Math.Max(first, va), Math.Min(end, va + size), unhooked);
            }
        }
    }

    /// <summary>Bytes the leaves in and below <paramref name="table"/> (at <paramref name="level"/>) map.</summary>
    private ulong MappedBytesBelow(ulong table, int level)
    {
        Span<byte> entries = stackalloc byte[PageTableGeometry.EntriesPerTable * PageTableGeometry.EntryBytes];
        ReadEntries(table, entries);
        ulong bytes = 0;
        for (int i = 0; i < PageTableGeometry.EntriesPerTable; i++)
        {
            var pte = PageTableEntry.At(entries, i);
            if (pte.IsPresent)
            {
                bytes += pte.IsLeafAt(level) ? PageTableGeometry.LevelSize(level) : MappedBytesBelow(pte.Address, level - 1);
            }
        }

        return bytes;
    }

    /// <summary>Lists <paramref name="table"/> (at <paramref name="level"/>) and every table below it on <paramref name="into"/> (<c>dma_pte_list_pagetables</c>).</summary>
    private void ListTables(ulong table, int level, List<ulong> into)
    {
        into.Add(table);
        Interlocked.Decrement(ref _tableCount);
        if (level == 1)
        {
            return;
        }

        Span<byte> entries = stackalloc byte[PageTableGeometry.EntriesPerTable * PageTableGeometry.EntryBytes];
        ReadEntries(table, entries);
        for (int i = 0; i < PageTableGeometry.EntriesPerTable; i++)
        {
            var pte = PageTableEntry.At(entries, i);
            if (pte.IsPresent && !pte.IsLeafAt(level))
            {
                ListTables(pte.Address, level - 1, into);
            }
        }
    }

    /// <summary>
    /// Clears the present level-1 entries from <paramref name="leafAddress"/> (the entry of <paramref name="va"/>, present)
    /// on, up to <paramref name="remaining"/> bytes or the table's end, stopping at the first entry not present.
    /// </summary>
    /// <returns>How many entries were cleared (at least 1).</returns>
    private int ClearLeafRun(ulong leafAddress, ulong va, ulong remaining)
    {
        int count = (int)Math.Min(remaining >> PageTableGeometry.PageShift, (ulong)(PageTableGeometry.EntriesPerTable - (int)PageTableGeometry.EntryIndex(va, 1)));
        Span<byte> entries = stackalloc byte[count * PageTableGeometry.EntryBytes];
        ReadEntries(leafAddress, entries);
        int cleared = 0;
        while (cleared < count && PageTableEntry.At(entries, cleared).IsPresent)
        {
            WriteEntry(leafAddress + ((ulong)cleared * PageTableGeometry.EntryBytes), default);
            cleared++;
        }

        return cleared;
    }

    /// <summary>
    /// A page-selective invalidation on every unit; <paramref name="leafOnly"/> is VT-d's invalidation hint (no entry
    /// that points to a table changed), which lets the paging-structure caches keep their regions.
    /// </summary>
    private void Invalidate(ulong first, ulong end, bool leafOnly)
    {
        if (end <= first)
        {
            return;
        }

        foreach (IommuUnit unit in Volatile.Read(ref _units))
        {
            unit.IoTlb.InvalidateRange(Id, new Iova(first), end - first, leafOnly);
        }
    }

    private static List<ulong> UnhookedScratch() => s_unhooked ??= new List<ulong>();

    /// <summary>
    /// Stores <paramref name="made"/> at <paramref name="entryAddress"/> if the entry still holds
    /// <paramref name="seen"/>; returns the entry as it is afterwards (<paramref name="made"/> when stored).
    /// </summary>
    private PageTableEntry InstallTable(ulong entryAddress, PageTableEntry seen, PageTableEntry made)
    {
        if (!_fabric.TryHostCompareExchange64(entryAddress, seen.Value, made.Value, out ulong found))
        {
            throw new InvalidOperationException($"IOMMU domain {Id}: the page table at 0x{entryAddress:x} is no longer host memory.");
        }

        return found == seen.Value ? made : new PageTableEntry(found);
    }

    private PageTableEntry ReadEntry(ulong address)
    {
        if (!_fabric.TryHostRead64(address, out ulong raw))
        {
            throw new InvalidOperationException($"IOMMU domain {Id}: the page table at 0x{address:x} is no longer host memory.");
        }

        return new PageTableEntry(raw);
    }

    /// <summary>Reads consecutive entries in one access (callers own the range, so no other thread changes them).</summary>
    private void ReadEntries(ulong address, Span<byte> raw)
    {
        if (!_fabric.TryHostRead(address, raw))
        {
            throw new InvalidOperationException($"IOMMU domain {Id}: the page table at 0x{address:x} is no longer host memory.");
        }
    }

    private void WriteEntry(ulong address, PageTableEntry entry)
    {
        if (!_fabric.TryHostWrite64(address, entry.Value))
        {
            throw new InvalidOperationException($"IOMMU domain {Id}: the page table at 0x{address:x} is no longer host memory.");
        }
    }
}
