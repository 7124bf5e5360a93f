using System;
using System.Numerics;
using System.Threading;

namespace P2pEmu.Iommu.IovaAllocator;

/// <summary>
/// An IOVA space: Linux's <c>struct iova_domain</c> with the behaviour of <c>drivers/iommu/iova.c</c> (spec §6).
/// Ranges are page frames of <see cref="GranuleBytes"/>; allocation searches top-down from the caller's limit in an
/// ordered tree that starts with an anchor node at pfn <see cref="AnchorPfn"/>, resuming from a cached node (one for
/// limits at or below 4 GiB, one for the rest); <see cref="AllocIovaFast(ulong, ulong, bool, int)"/> puts a per-CPU
/// magazine cache (the rcache, spec §6.4) in front of the tree.
/// </summary>
/// <remarks>
/// <para>
/// Thread safety: every member may be called from any thread. The tree, the cached nodes and
/// <c>max32_alloc_size</c> are guarded by one lock (Linux: <c>iova_rbtree_lock</c>); each CPU's magazines of each
/// size class by their own spin lock, and each size class's depot by another (Linux: the per-CPU and rcache
/// spinlocks). Lock order: CPU cache, then depot, then tree. A fast allocation or free that the cache satisfies
/// takes only its CPU's lock; the check of <see cref="IovaDomainOptions.VerifyFastFrees"/> reads a copy of the tree's
/// ranges kept for it (<see cref="IovaLiveIndex"/>) without a lock.
/// </para>
/// <para>
/// "CPUs" are indices 0 to <see cref="CpuCount"/> - 1. The overloads without a CPU index use
/// <see cref="CurrentCpu"/>; tests pass an index so their cache behaviour is deterministic.
/// </para>
/// <para>
/// Deviations from Linux, all at edges the kernel does not reach in practice: the retry walk never searches below
/// <see cref="StartPfn"/> (in Linux its lower bound wraps to 0 when the cached node is the anchor); a limit below the
/// request size never takes an IOVA from the cache (Linux's cache bound wraps and would take any cached pfn); limits
/// are clamped below the anchor; <see cref="FreeIova"/> and <see cref="FreeIovaFast(ulong, ulong, int)"/> throw for a
/// pfn that is not allocated where Linux ignores it or corrupts its cache.
/// </para>
/// </remarks>
public sealed partial class IovaDomain : IDisposable
{
    /// <summary>Pfn of the anchor node that sits above the usable space (Linux <c>IOVA_ANCHOR</c>).</summary>
    public const ulong AnchorPfn = ulong.MaxValue;

    /// <summary>Largest granule: the host page size (Linux: <c>PAGE_SIZE</c>).</summary>
    public const ulong MaxGranuleBytes = 4096;

    /// <summary>Number of rcache size classes, 1 to 32 pages (Linux <c>IOVA_RANGE_CACHE_MAX_SIZE</c>).</summary>
    public const int RangeCacheClasses = 6;

    private static int s_nextThreadCpu;

    [ThreadStatic]
    private static int s_threadCpuPlusOne;

    private readonly Lock _treeLock = new();
    private readonly IovaTree _tree = new();

    // The tree's ranges by first pfn, for the lock-free check of a fast free; changed with the tree, under its lock.
    private readonly IovaLiveIndex _live = new();
    private readonly int _anchor;
    private readonly IovaRcache[] _rcaches;
    private int _cachedNode;     // guarded by _treeLock
    private int _cached32Node;   // guarded by _treeLock
    private ulong _max32AllocSize; // guarded by _treeLock
    private long _treeAllocations; // guarded by _treeLock
    private long _treeWalkSteps;   // guarded by _treeLock
    private volatile bool _disposed;

    /// <summary>Linux <c>init_iova_domain</c> followed by <c>iova_domain_init_rcaches</c>.</summary>
    /// <param name="granuleBytes">Size of one IOVA page: a power of two no larger than <see cref="MaxGranuleBytes"/>.</param>
    /// <param name="startPfn">Lowest pfn the allocator hands out.</param>
    /// <param name="options">Cache model and CPU count; null for the defaults.</param>
    /// <exception cref="ArgumentException">The granule is not a power of two or too large, or an option is out of range.</exception>
    public IovaDomain(ulong granuleBytes, ulong startPfn, IovaDomainOptions? options = null)
    {
        if (!BitOperations.IsPow2(granuleBytes) || granuleBytes > MaxGranuleBytes)
        {
            throw new ArgumentException($"The IOVA granule must be a power of two no larger than {MaxGranuleBytes}; got {granuleBytes}.", nameof(granuleBytes));
        }

        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(startPfn, AnchorPfn);
        options ??= new IovaDomainOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.CpuCount, 1, nameof(options));
        if (options.DepotTrimDelay is TimeSpan delay && delay <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "DepotTrimDelay must be positive.");
        }

        GranuleBytes = granuleBytes;
        Shift = BitOperations.Log2(granuleBytes);
        StartPfn = startPfn;
        Dma32BitPfn = 1UL << (32 - Shift);
        CpuCount = options.CpuCount;
        MagazineModel = options.MagazineModel;
        VerifyFastFrees = options.VerifyFastFrees;
        _max32AllocSize = Dma32BitPfn;

        _anchor = _tree.Allocate(AnchorPfn, AnchorPfn);
        _tree.Insert(_anchor, IovaTree.Nil);
        _cachedNode = _anchor;
        _cached32Node = _anchor;

        _rcaches = new IovaRcache[RangeCacheClasses];
        for (int i = 0; i < RangeCacheClasses; i++)
        {
            _rcaches[i] = new IovaRcache(this, CpuCount, MagazineModel, options.DepotTrimDelay);
        }

        // CPU-major, so one CPU's hot objects are near each other and away from the other CPUs' (false sharing).
        for (int cpu = 0; cpu < CpuCount; cpu++)
        {
            foreach (IovaRcache rcache in _rcaches)
            {
                rcache.CreateCpu(cpu);
            }
        }
    }

    /// <summary>Size of one IOVA page in bytes.</summary>
    public ulong GranuleBytes { get; }

    /// <summary>log2 of <see cref="GranuleBytes"/> (Linux <c>iova_shift</c>).</summary>
    public int Shift { get; }

    /// <summary>Lowest pfn handed out.</summary>
    public ulong StartPfn { get; }

    /// <summary>First pfn at or above 4 GiB (Linux <c>dma_32bit_pfn</c>); exclusive limits up to it count as 32-bit.</summary>
    public ulong Dma32BitPfn { get; }

    /// <summary>Number of modelled CPUs, each with its own rcache magazines.</summary>
    public int CpuCount { get; }

    /// <summary>The magazine and depot rules in force.</summary>
    public IovaMagazineModel MagazineModel { get; }

    /// <summary>Whether fast frees are checked against the tree (<see cref="IovaDomainOptions.VerifyFastFrees"/>).</summary>
    public bool VerifyFastFrees { get; }

    /// <summary>pfns a magazine holds: 127 or 128 depending on <see cref="MagazineModel"/>.</summary>
    public int MagazineCapacity => _rcaches[0].MagazineCapacity;

    /// <summary>
    /// The calling thread's CPU index, modulo <see cref="CpuCount"/>. Each thread is given a virtual CPU the first time
    /// it asks (0, 1, 2, … in order of first use) and keeps it: unlike the processor the OS happens to run the thread
    /// on, this makes which magazine a run uses, and so every IOVA it gets, reproducible. Linux tasks migrate between
    /// CPUs; the per-CPU locks keep either way safe.
    /// </summary>
    public int CurrentCpu
    {
        get
        {
            int cpu = s_threadCpuPlusOne;
            if (cpu == 0)
            {
                cpu = Interlocked.Increment(ref s_nextThreadCpu);
                s_threadCpuPlusOne = cpu;
            }

            int index = cpu - 1;
            return index < CpuCount ? index : index % CpuCount; // the division only for more threads than CPUs
        }
    }

    /// <summary>
    /// Linux <c>alloc_iova</c>: allocates <paramref name="sizePages"/> pages at or below pfn
    /// <paramref name="limitPfn"/>, searching top-down (spec §6.2). When <paramref name="sizeAligned"/>, the first pfn
    /// is a multiple of the size rounded up to a power of two. Does not use the rcache.
    /// </summary>
    /// <param name="sizePages">Pages to allocate; not zero.</param>
    /// <param name="limitPfn">Highest pfn the range may use (inclusive); values at or above the anchor are clamped.</param>
    /// <param name="sizeAligned">Align the range to roundup_pow_of_two(<paramref name="sizePages"/>) pages.</param>
    /// <returns>The new range, or null when no space is left (Linux returns NULL).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sizePages"/> is 0.</exception>
    /// <exception cref="ObjectDisposedException">The domain was disposed.</exception>
    public IovaRange? AllocIova(ulong sizePages, ulong limitPfn, bool sizeAligned)
    {
        ArgumentOutOfRangeException.ThrowIfZero(sizePages);
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_treeLock)
        {
            int node = AllocAndInsertRange(sizePages, ExclusiveLimit(limitPfn), sizeAligned);
            return node == IovaTree.Nil ? null : RangeOf(node);
        }
    }

    /// <summary>Linux <c>find_iova</c>: the allocated or reserved range containing <paramref name="pfn"/>, or null.</summary>
    /// <exception cref="ObjectDisposedException">The domain was disposed.</exception>
    public IovaRange? FindIova(ulong pfn)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_treeLock)
        {
            int node = _tree.Find(pfn);
            return node == IovaTree.Nil || node == _anchor ? null : RangeOf(node);
        }
    }

    /// <summary>
    /// Linux <c>free_iova</c>: frees the range containing <paramref name="pfn"/> (allocated or reserved) straight to
    /// the tree, moving the cached nodes up past it and resetting the 32-bit fail-fast size when it lay below 4 GiB.
    /// </summary>
    /// <exception cref="ArgumentException">No range contains <paramref name="pfn"/> (Linux silently ignores it).</exception>
    /// <exception cref="ObjectDisposedException">The domain was disposed.</exception>
    public void FreeIova(ulong pfn)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_treeLock)
        {
            int node = _tree.Find(pfn);
            if (node == IovaTree.Nil || node == _anchor)
            {
                IovaThrowHelper.ThrowNotAllocated(pfn);
            }

            RemoveNode(node);
        }
    }

    /// <summary>
    /// Linux <c>reserve_iova</c>: keeps pfns <paramref name="pfnLo"/> through <paramref name="pfnHi"/> from ever
    /// being allocated. Existing ranges that overlap are stretched down over the gaps below them and a new range is
    /// added for what lies above the last of them, so the reservation may end up split over several ranges; a request
    /// inside one existing range changes nothing.
    /// </summary>
    /// <returns>
    /// The range that now covers <paramref name="pfnHi"/> (new, stretched or pre-existing), or null when a pfn is
    /// beyond the address space (Linux warns and returns NULL).
    /// </returns>
    /// <exception cref="ArgumentException"><paramref name="pfnLo"/> is above <paramref name="pfnHi"/>.</exception>
    /// <exception cref="ObjectDisposedException">The domain was disposed.</exception>
    public IovaRange? ReserveIova(ulong pfnLo, ulong pfnHi)
    {
        if (pfnLo > pfnHi)
        {
            throw new ArgumentException($"Reservation [pfn 0x{pfnLo:x}-0x{pfnHi:x}] is inverted.", nameof(pfnLo));
        }

        ObjectDisposedException.ThrowIf(_disposed, this);

        // Linux rejects pfns beyond ULLONG_MAX >> shift; with a 1-byte granule that would still admit the anchor.
        if ((pfnLo | pfnHi) > (ulong.MaxValue >> Shift) || pfnHi >= AnchorPfn)
        {
            return null;
        }

        lock (_treeLock)
        {
            // Linux scans from the first node; nodes wholly below pfnLo cannot overlap, so start at the first that can.
            bool overlapped = false;
            for (int node = _tree.LowerBoundByHi(pfnLo); node != IovaTree.Nil; node = _tree.Next(node))
            {
                ref IovaNode n = ref _tree[node];
                if (pfnLo <= n.PfnHi && pfnHi >= n.PfnLo)
                {
                    // Stretching the node down is order-safe: nothing between pfnLo and it is allocated.
                    if (pfnLo < n.PfnLo)
                    {
                        _live.Remove(n.PfnLo);
                        n.PfnLo = pfnLo;
                        _live.Add(n.PfnLo, n.PfnHi - n.PfnLo + 1);
                    }

                    if (pfnHi > n.PfnHi)
                    {
                        pfnLo = n.PfnHi + 1;
                    }
                    else
                    {
                        return RangeOf(node);
                    }

                    overlapped = true;
                }
                else if (overlapped)
                {
                    break;
                }
            }

            int added = _tree.Allocate(pfnLo, pfnHi);
            _tree.Insert(added, IovaTree.Nil);
            _live.Add(pfnLo, pfnHi - pfnLo + 1);
            return RangeOf(added);
        }
    }

    /// <summary>Stops the depot trim timers (Linux <c>put_iova_domain</c>); later calls throw.</summary>
    public void Dispose()
    {
        _disposed = true;
        foreach (IovaRcache rcache in _rcaches)
        {
            rcache.Dispose();
        }
    }

    /// <summary>Linux <c>fls_long</c>: the 1-based index of the highest set bit, 0 for 0.</summary>
    private static int Fls(ulong value) => 64 - BitOperations.LeadingZeroCount(value);

    /// <summary>Linux <c>order_base_2</c>: ceil(log2(size)), 0 for 1.</summary>
    private static int OrderBase2(ulong size) => size <= 1 ? 0 : Fls(size - 1);

    /// <summary>limit + 1 with the limit clamped below the anchor, so the exclusive limit never wraps.</summary>
    private static ulong ExclusiveLimit(ulong limitPfn) => Math.Min(limitPfn, AnchorPfn - 1) + 1;

    private IovaRange RangeOf(int node)
    {
        ref IovaNode n = ref _tree[node];
        return new IovaRange(n.PfnLo, n.PfnHi);
    }

    /// <summary>
    /// Linux <c>__alloc_and_insert_iova_range</c> (spec §6.2). Caller holds the tree lock. Returns the new node or
    /// <see cref="IovaTree.Nil"/>.
    /// </summary>
    private int AllocAndInsertRange(ulong size, ulong limitPfn, bool sizeAligned)
    {
        _treeAllocations++;
        ulong alignMask = ulong.MaxValue;
        if (sizeAligned)
        {
            int alignShift = Fls(size - 1);
            if (alignShift >= 64)
            {
                return IovaTree.Nil; // an alignment of 2^64 pages cannot be met
            }

            alignMask <<= alignShift;
        }

        // Fail fast: a 32-bit request no smaller than one that already failed cannot succeed either.
        if (limitPfn <= Dma32BitPfn && size >= _max32AllocSize)
        {
            return IovaTree.Nil;
        }

        ulong highPfn = limitPfn;
        ulong lowPfn = StartPfn;
        int curr = limitPfn <= Dma32BitPfn ? _cached32Node : _cachedNode;

        // What lies above the cached node was not searched; the retry covers it. Deviation: when the cached node is
        // the anchor there is nothing above it (Linux's bound wraps to 0 and re-walks below start_pfn).
        ulong retryPfn = curr == _anchor ? limitPfn : Math.Max(_tree[curr].PfnHi + 1, StartPfn);
        bool retried = false;
        while (true)
        {
            ulong newPfn;
            int prev;
            do
            {
                highPfn = Math.Min(highPfn, _tree[curr].PfnLo);
                newPfn = unchecked(highPfn - size) & alignMask; // wraps when high < size; rejected below
                prev = curr;
                curr = _tree.Prev(curr);
                _treeWalkSteps++;
            }
            while (curr != IovaTree.Nil && newPfn <= _tree[curr].PfnHi && newPfn >= lowPfn);

            if (highPfn >= size && newPfn >= lowPfn)
            {
                int node = _tree.Allocate(newPfn, newPfn + size - 1);
                _tree.Insert(node, prev); // prev is the node just above: the insertion point is in its subtree
                _live.Add(newPfn, size);
                if (newPfn + size - 1 < Dma32BitPfn)
                {
                    _cached32Node = node;
                }
                else
                {
                    _cachedNode = node;
                }

                return node;
            }

            if (retried || retryPfn >= limitPfn)
            {
                // As in Linux, any failure (not only a 32-bit one) records the size for the 32-bit fail-fast.
                _max32AllocSize = size;
                return IovaTree.Nil;
            }

            retried = true;
            highPfn = limitPfn;
            lowPfn = retryPfn;
            curr = FindLimit(limitPfn);
        }
    }

    /// <summary>
    /// Linux <c>iova_find_limit</c>: where a walk for an exclusive limit starts. Above 4 GiB that is simply the anchor;
    /// otherwise the lowest node reaching <paramref name="limitPfn"/> (a walk from there sees every gap below it).
    /// </summary>
    private int FindLimit(ulong limitPfn) =>
        limitPfn > Dma32BitPfn ? _anchor : _tree.LowerBoundByHi(limitPfn);

    /// <summary>Linux <c>remove_iova</c> and <c>__cached_rbnode_delete_update</c>. Caller holds the tree lock.</summary>
    private void RemoveNode(int node)
    {
        IovaNode free = _tree[node];
        int next = _tree.Next(node); // never Nil: the anchor is above every node and is never freed

        if (node == _cached32Node || (free.PfnHi < Dma32BitPfn && free.PfnLo >= _tree[_cached32Node].PfnLo))
        {
            _cached32Node = next;
        }

        if (free.PfnLo < Dma32BitPfn)
        {
            _max32AllocSize = Dma32BitPfn;
        }

        if (free.PfnLo >= _tree[_cachedNode].PfnLo)
        {
            _cachedNode = next;
        }

        _tree.Erase(node);
        _tree.Release(node);
        _live.Remove(free.PfnLo);
    }
}
