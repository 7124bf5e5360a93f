using System;
using System.Diagnostics.Tracing;
using System.Runtime.CompilerServices;
using System.Threading;
using P2pEmu.Emulator.Addressing;

namespace P2pEmu.Iommu.Hardware;

/// <summary>
/// The IOTLB: a bounded, set-associative cache of translations, keyed by domain and IOVA, separate from the page
/// tables (STYLE R8). A hit costs a few nanoseconds and no lock; a miss makes the IOMMU walk and fill.
/// </summary>
/// <remarks>
/// <para>
/// Each way caches one run: IOVAs inside one aligned <see cref="BlockBytes"/> block that translate to
/// contiguous bus addresses with the same permissions, whatever the page size (a slice of a 2 MiB or 1 GiB leaf,
/// or up to 16 adjacent 4 KiB leaves the walker found physically contiguous). The set is chosen by domain and the
/// 4 KiB page of the lookup, and a run is cached in the set of the page whose miss filled it: a DMA looks up only the
/// first page of each run, and scattered 4 KiB pages spread over all sets. Deviation from hardware, which caches one
/// page per entry: coalescing lets a DMA through 4 KiB pages move up to 64 KiB per routed transaction, and changes
/// nothing a device can observe, because every invalidation removes each run that overlaps its range (it probes the
/// sets of every page of every block the range touches).
/// </para>
/// <para>
/// Thread safety: lookups run lock-free on any number of threads (each way is a sequence-locked
/// <see cref="IoTlbEntry"/>); fills and invalidations serialize on one lock. An invalidation bumps a generation
/// number, and a fill whose walk began before the latest invalidation is dropped, so a walk that raced with an
/// unmap can never leave a stale entry behind. After an invalidation returns, no lookup that starts later sees an
/// entry it removed.
/// </para>
/// <para>
/// Beside the IOTLB sits a paging-structure cache, like VT-d's PDE cache: for a 2 MiB region of a domain, the bus
/// address of the 4 KiB leaf table a walk went through and the permissions of the tables above it, so a miss in a
/// region walked before reads one entry instead of four. It holds only present entries that point to a table (never
/// a leaf, never a non-present entry), so a map, which fills only empty entries, never makes it stale. A
/// page-selective invalidation removes the regions it overlaps unless it carries the invalidation hint (VT-d's IH:
/// software changed no entry that points to a table, as Linux says when its unmap freed no table page); a domain or
/// global invalidation removes them all. Like the hardware, a walk trusts the cache until then: software that frees
/// a table page without an invalidation that drops it leaves the IOMMU walking the freed page.
/// </para>
/// <para>
/// Counters: <see cref="Hits"/> (and <see cref="TableHits"/>) is kept in per-thread stripes without atomic instructions (an interlocked add
/// would double the cost of a hit); it is exact whenever one thread translates at a time, and two threads whose
/// managed IDs collide modulo 16 may, rarely, lose an increment. Misses, fills and invalidations are exact.
/// </para>
/// </remarks>
public sealed class IoTlb
{
    /// <summary>log2 of <see cref="BlockBytes"/>.</summary>
    public const int BlockShift = 16;

    /// <summary>No cached run crosses an aligned block of this size (64 KiB = 16 pages of 4 KiB).</summary>
    public const ulong BlockBytes = 1UL << BlockShift;

    /// <summary>The most ways a set can have.</summary>
    public const int MaxWays = 16;

    private const ulong StartMask = ~PageTableGeometry.PageMask;
    private const ulong PagesPerBlock = BlockBytes >> PageTableGeometry.PageShift;
    private const ulong ProtMask = (ulong)IommuProt.ReadWrite;
    private const int CounterStripes = 16;

    // The paging-structure cache: TableSets × TableWays regions of 2 MiB (128 MiB of IOVA space).
    private const int TableSets = 16;
    private const int TableWays = 4;
    private const int TableShift = 21;
    private const ulong TableSpan = 1UL << TableShift;

    // One cache line per stripe, so threads counting hits do not share lines: IOTLB hits in its first long,
    // paging-structure cache hits in its second.
    private const int StripeLongs = 8;
    private const int HitSlot = 0;
    private const int TableHitSlot = 1;

    private readonly IoTlbEntry[] _entries;
    private readonly byte[] _nextVictim;
    private readonly int _ways;
    private readonly int _setMask;
    private readonly long[] _hitStripes = new long[CounterStripes * StripeLongs];
    private readonly IoTlbEntry[] _tableEntries = new IoTlbEntry[TableSets * TableWays];
    private readonly byte[] _nextTableVictim = new byte[TableSets];
    private readonly Lock _writeLock = new();
    private long _misses;
    private long _fills;
    private long _tableFills;
    private long _invalidations;
    private long _generation;

    /// <summary>Creates an empty IOTLB of <paramref name="sets"/> × <paramref name="ways"/> entries.</summary>
    /// <param name="sets">Number of sets: a power of two from 1 to 65536.</param>
    /// <param name="ways">Entries per set, 1 to <see cref="MaxWays"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">Either size is out of range, or <paramref name="sets"/> is not a power of two.</exception>
    public IoTlb(int sets = 256, int ways = 4)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sets, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sets, 1 << 16);
        if ((sets & (sets - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(sets), sets, "The number of sets must be a power of two.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(ways, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ways, MaxWays);
        _ways = ways;
        _setMask = sets - 1;
        _entries = new IoTlbEntry[sets * ways];
        _nextVictim = new byte[sets];
    }

    /// <summary>Number of sets.</summary>
    public int Sets => _setMask + 1;

    /// <summary>Entries per set.</summary>
    public int Ways => _ways;

    /// <summary>Total entries: the most runs the IOTLB holds at once.</summary>
    public int Capacity => _entries.Length;

    /// <summary>Lookups answered from the cache.</summary>
    public long Hits => SumStripes(HitSlot);

    /// <summary>Misses whose walk started at a leaf table the paging-structure cache held (one entry read, not four).</summary>
    public long TableHits => SumStripes(TableHitSlot);

    /// <summary>Regions written to the paging-structure cache after a walk.</summary>
    public long TableFills => Volatile.Read(ref _tableFills);

    /// <summary>Regions the paging-structure cache holds now.</summary>
    public int ValidTableEntryCount => CountValid(_tableEntries);

    /// <summary>Lookups the cache could not answer.</summary>
    public long Misses => Volatile.Read(ref _misses);

    /// <summary>Entries written after a walk.</summary>
    public long Fills => Volatile.Read(ref _fills);

    /// <summary>Invalidation requests (by range, domain or globally).</summary>
    public long Invalidations => Volatile.Read(ref _invalidations);

    /// <summary>Entries currently holding a translation.</summary>
    public int ValidEntryCount => CountValid(_entries);

    /// <summary>Bumped by every invalidation; read it before a walk and pass it to <see cref="TryFill"/>.</summary>
    public long Generation => Volatile.Read(ref _generation);

    /// <summary>Looks up <paramref name="iova"/> in domain <paramref name="domainId"/> for an access needing <paramref name="required"/>.</summary>
    /// <param name="contiguousBytes">Bytes from <paramref name="iova"/> to the end of the cached run.</param>
    /// <returns>True on a hit that allows the access. Lock-free; allocates nothing.</returns>
    public bool TryLookup(int domainId, Iova iova, IommuProt required, out BusAddress translated, out ulong contiguousBytes)
    {
        ulong va = iova.Value;
        Span<IoTlbEntry> ways = _entries.AsSpan(SetOf(domainId, va >> PageTableGeometry.PageShift) * _ways, _ways);
        for (int w = 0; w < ways.Length; w++)
        {
            if (!TryRead(ref ways[w], out int domain, out ulong tag, out ulong length, out ulong target) || domain != domainId)
            {
                continue;
            }

            ulong offset = unchecked(va - (tag & StartMask));
            if (offset < length && ((ulong)required & ~tag & ProtMask) == 0)
            {
                CountHit(HitSlot);
                translated = new BusAddress(target + offset);
                contiguousBytes = length - offset;
                return true;
            }
        }

        Interlocked.Increment(ref _misses);
        translated = default;
        contiguousBytes = 0;
        return false;
    }

    /// <summary>
    /// Caches the run [<paramref name="start"/>, <paramref name="start"/> + <paramref name="lengthBytes"/>) of domain
    /// <paramref name="domainId"/> in the set of <paramref name="lookup"/>'s page, unless an invalidation happened since
    /// <paramref name="generation"/> was read. Replaces an overlapping run of the same domain in the set, else an empty
    /// way, else the next way round-robin.
    /// </summary>
    /// <param name="lookup">The IOVA whose miss the run answers; later lookups of its page hit.</param>
    /// <returns>False when the fill was dropped because it may be stale.</returns>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="domainId"/> is not positive, the run is empty, not 4 KiB aligned, crosses a <see cref="BlockBytes"/>
    /// boundary, or does not contain <paramref name="lookup"/>.
    /// </exception>
    public bool TryFill(int domainId, Iova lookup, Iova start, ulong lengthBytes, BusAddress target, IommuProt prot, long generation)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(domainId, 1);
        ulong first = start.Value;
        if (lengthBytes == 0 || ((first | lengthBytes) & PageTableGeometry.PageMask) != 0
            || (first >> BlockShift) != ((first + lengthBytes - 1) >> BlockShift)
            || unchecked(lookup.Value - first) >= lengthBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(lengthBytes), "A cached run must be whole pages inside one IOTLB block, around the lookup.");
        }

        ulong tag = first | ((ulong)prot & ProtMask);
        lock (_writeLock)
        {
            if (generation != _generation)
            {
                return false;
            }

            int set = SetOf(domainId, lookup.Value >> PageTableGeometry.PageShift);
            Span<IoTlbEntry> ways = _entries.AsSpan(set * _ways, _ways);
            Publish(ref ways[ChooseWay(ways, ref _nextVictim[set], domainId, first, first + lengthBytes)], domainId, tag, lengthBytes, target.Value);
            _fills++;
        }

        return true;
    }

    /// <summary>
    /// Looks up the paging-structure cache: the 4 KiB leaf table that holds <paramref name="iova"/>'s entry in domain
    /// <paramref name="domainId"/>, and what the tables above it allow. Lock-free; allocates nothing.
    /// </summary>
    /// <param name="required">The access the walk needs: a region whose tables do not allow it misses (a walk from the
    /// root then faults at the level that refuses it).</param>
    public bool TryLookupTable(int domainId, Iova iova, IommuProt required, out BusAddress leafTable, out IommuProt tablePermissions)
    {
        ulong region = iova.Value & ~(TableSpan - 1);
        Span<IoTlbEntry> ways = _tableEntries.AsSpan(TableSetOf(domainId, iova.Value) * TableWays, TableWays);
        for (int w = 0; w < ways.Length; w++)
        {
            if (TryRead(ref ways[w], out int domain, out ulong tag, out _, out ulong target)
                && domain == domainId && (tag & StartMask) == region && ((ulong)required & ~tag & ProtMask) == 0)
            {
                CountHit(TableHitSlot);
                leafTable = new BusAddress(target);
                tablePermissions = (IommuProt)(tag & ProtMask);
                return true;
            }
        }

        leafTable = default;
        tablePermissions = IommuProt.None;
        return false;
    }

    /// <summary>
    /// Caches that <paramref name="iova"/>'s 2 MiB region of domain <paramref name="domainId"/> has its leaf entries in
    /// the table at <paramref name="leafTable"/>, under <paramref name="tablePermissions"/>, unless an invalidation
    /// happened since <paramref name="generation"/> was read (as <see cref="TryFill"/>).
    /// </summary>
    /// <returns>False when the fill was dropped because it may be stale.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="domainId"/> is not positive, or the table is not 4 KiB aligned.</exception>
    public bool TryFillTable(int domainId, Iova iova, BusAddress leafTable, IommuProt tablePermissions, long generation)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(domainId, 1);
        if ((leafTable.Value & PageTableGeometry.PageMask) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(leafTable), "A page table is 4 KiB aligned.");
        }

        ulong region = iova.Value & ~(TableSpan - 1);
        lock (_writeLock)
        {
            if (generation != _generation)
            {
                return false;
            }

            int set = TableSetOf(domainId, iova.Value);
            Span<IoTlbEntry> ways = _tableEntries.AsSpan(set * TableWays, TableWays);
            int chosen = ChooseWay(ways, ref _nextTableVictim[set], domainId, region, region + TableSpan);
            Publish(ref ways[chosen], domainId, region | ((ulong)tablePermissions & ProtMask), TableSpan, leafTable.Value);
            _tableFills++;
        }

        return true;
    }

    /// <summary>
    /// Removes every cached run of domain <paramref name="domainId"/> that overlaps [<paramref name="iova"/>, +
    /// <paramref name="sizeBytes"/>), and, unless <paramref name="leafOnly"/> (VT-d's invalidation hint: no entry that
    /// points to a table changed), every paging-structure cache region the range overlaps.
    /// </summary>
    public void InvalidateRange(int domainId, Iova iova, ulong sizeBytes, bool leafOnly = false)
    {
        if (sizeBytes == 0)
        {
            return;
        }

        ulong first = iova.Value;
        ulong end = unchecked(first + sizeBytes) < first ? ulong.MaxValue : first + sizeBytes;
        lock (_writeLock)
        {
            BeginInvalidation();

            // A run overlapping the range lies in a block the range touches, cached in the set of one of its pages.
            ulong firstPage = (first >> BlockShift) << (BlockShift - PageTableGeometry.PageShift);
            ulong lastPage = (((end - 1) >> BlockShift) << (BlockShift - PageTableGeometry.PageShift)) + PagesPerBlock - 1;
            if (lastPage - firstPage >= (ulong)Sets)
            {
                ClearAll(_entries, domainId, first, end);
            }
            else
            {
                for (ulong page = firstPage; page <= lastPage; page++)
                {
                    Span<IoTlbEntry> ways = _entries.AsSpan(SetOf(domainId, page) * _ways, _ways);
                    for (int w = 0; w < ways.Length; w++)
                    {
                        ClearIf(ref ways[w], domainId, first, end);
                    }
                }
            }

            if (!leafOnly)
            {
                ClearAll(_tableEntries, domainId, first, end);
            }
        }

        Trace(domainId, (long)first, unchecked((long)sizeBytes));
    }

    /// <summary>Removes every cached run of domain <paramref name="domainId"/>.</summary>
    public void InvalidateDomain(int domainId)
    {
        lock (_writeLock)
        {
            BeginInvalidation();
            ClearAll(_entries, domainId, 0, ulong.MaxValue);
            ClearAll(_tableEntries, domainId, 0, ulong.MaxValue);
        }

        Trace(domainId, 0, -1);
    }

    /// <summary>Removes every cached run (a global invalidation).</summary>
    public void InvalidateAll()
    {
        lock (_writeLock)
        {
            BeginInvalidation();
            ClearEvery(_entries);
            ClearEvery(_tableEntries);
        }

        Trace(-1, 0, -1);
    }

    private static bool Overlaps(in IoTlbEntry entry, ulong first, ulong end)
    {
        ulong start = entry.Tag & StartMask;
        return start < end && first < start + entry.Length;
    }

    /// <summary>
    /// The way of a set a fill of [<paramref name="first"/>, <paramref name="end"/>) takes: one of the same domain that
    /// overlaps it (replaced), else an empty one, else the next round-robin (<paramref name="nextVictim"/>). Caller holds
    /// <see cref="_writeLock"/>.
    /// </summary>
    private static int ChooseWay(Span<IoTlbEntry> ways, ref byte nextVictim, int domainId, ulong first, ulong end)
    {
        for (int w = 0; w < ways.Length; w++)
        {
            if (ways[w].DomainId == domainId && Overlaps(in ways[w], first, end))
            {
                return w;
            }
        }

        for (int w = 0; w < ways.Length; w++)
        {
            if (ways[w].DomainId == 0)
            {
                return w;
            }
        }

        int chosen = nextVictim < ways.Length ? nextVictim : 0;
        nextVictim = (byte)(chosen + 1 == ways.Length ? 0 : chosen + 1);
        return chosen;
    }

    /// <summary>Reads a way under its sequence lock: false when a writer was changing it (the fields are then torn).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryRead(ref IoTlbEntry entry, out int domainId, out ulong tag, out ulong length, out ulong target)
    {
        int sequence = Volatile.Read(ref entry.Sequence);
        domainId = Volatile.Read(ref entry.DomainId);
        tag = Volatile.Read(ref entry.Tag);
        length = Volatile.Read(ref entry.Length);
        target = Volatile.Read(ref entry.Target);
        return (sequence & 1) == 0 && Volatile.Read(ref entry.Sequence) == sequence;
    }

    /// <summary>Writes a way under the sequence lock. Caller holds <see cref="_writeLock"/>.</summary>
    private static void Publish(ref IoTlbEntry entry, int domainId, ulong tag, ulong length, ulong target)
    {
        int sequence = entry.Sequence;
        Volatile.Write(ref entry.Sequence, unchecked(sequence + 1));
        Volatile.Write(ref entry.DomainId, domainId);
        Volatile.Write(ref entry.Tag, tag);
        Volatile.Write(ref entry.Length, length);
        Volatile.Write(ref entry.Target, target);
        Volatile.Write(ref entry.Sequence, unchecked(sequence + 2));
    }

    private static void ClearIf(ref IoTlbEntry entry, int domainId, ulong first, ulong end)
    {
        if (entry.DomainId == domainId && Overlaps(in entry, first, end))
        {
            Publish(ref entry, 0, 0, 0, 0);
        }
    }

    private static void ClearAll(IoTlbEntry[] entries, int domainId, ulong first, ulong end)
    {
        for (int i = 0; i < entries.Length; i++)
        {
            ClearIf(ref entries[i], domainId, first, end);
        }
    }

    private static void ClearEvery(IoTlbEntry[] entries)
    {
        for (int i = 0; i < entries.Length; i++)
        {
            if (entries[i].DomainId != 0)
            {
                Publish(ref entries[i], 0, 0, 0, 0);
            }
        }
    }

    private static int CountValid(IoTlbEntry[] entries)
    {
        int count = 0;
        for (int i = 0; i < entries.Length; i++)
        {
            if (Volatile.Read(ref entries[i].DomainId) != 0)
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>A plain increment of counter <paramref name="slot"/> on this thread's stripe: see the class remarks.</summary>
    private void CountHit(int slot) => _hitStripes[((Environment.CurrentManagedThreadId & (CounterStripes - 1)) * StripeLongs) + slot]++;

    private long SumStripes(int slot)
    {
        long sum = 0;
        for (int i = 0; i < CounterStripes; i++)
        {
            sum += Volatile.Read(ref _hitStripes[(i * StripeLongs) + slot]);
        }

        return sum;
    }

    private static void Trace(int domainId, long iova, long sizeBytes)
    {
        IommuEventSource log = IommuEventSource.Log;
        if (log.IsEnabled(EventLevel.Informational, IommuEventSource.Keywords.Invalidations))
        {
            log.IotlbInvalidation(domainId, iova, sizeBytes);
        }
    }

    /// <summary>Caller holds <see cref="_writeLock"/>.</summary>
    private void BeginInvalidation()
    {
        Volatile.Write(ref _generation, _generation + 1);
        Interlocked.Increment(ref _invalidations);
    }

    private static int TableSetOf(int domainId, ulong iova) => SetIndex(domainId, iova >> TableShift, TableSets - 1);

    private int SetOf(int domainId, ulong page) => SetIndex(domainId, page, _setMask);

    /// <summary>The set of <paramref name="index"/> (a page or a region number): domains spread over the sets.</summary>
    private static int SetIndex(int domainId, ulong index, int mask) => unchecked((int)(index + ((ulong)(uint)domainId * 0x9E37_79B1UL))) & mask;
}
