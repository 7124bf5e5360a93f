using System;
using System.Numerics;

namespace P2pEmu.Iommu.IovaAllocator;

/// <content>The fast path (spec §6.3) and the rcache operations (spec §6.4).</content>
public sealed partial class IovaDomain
{
    /// <summary>Sizes below this many pages are rounded up to a power of two by the fast path.</summary>
    private const ulong RoundUpBelowPages = 1UL << (RangeCacheClasses - 1);

    /// <summary>
    /// Linux <c>alloc_iova_fast</c> on the calling thread's CPU (<see cref="CurrentCpu"/>); see
    /// <see cref="AllocIovaFast(ulong, ulong, bool, int)"/>.
    /// </summary>
    public ulong AllocIovaFast(ulong sizePages, ulong limitPfn, bool flushRcache) =>
        AllocIovaFast(sizePages, limitPfn, flushRcache, CurrentCpu);

    /// <summary>
    /// Linux <c>alloc_iova_fast</c>: sizes below 32 pages are rounded up to a power of two; the CPU's cache of that
    /// size class is tried first (the newest cached pfn that fits the limit); otherwise a size-aligned
    /// <see cref="AllocIova"/>; if that fails and <paramref name="flushRcache"/> is set, every CPU's cache and the
    /// depots are freed to the tree and the tree allocation is retried once.
    /// </summary>
    /// <param name="sizePages">Pages wanted (the caller frees with the same, unrounded, size); not zero.</param>
    /// <param name="limitPfn">Highest pfn the range may use (inclusive).</param>
    /// <param name="flushRcache">Whether a failed tree allocation may flush the caches and retry.</param>
    /// <param name="cpu">The CPU whose magazines are used, 0 to <see cref="CpuCount"/> - 1.</param>
    /// <returns>
    /// The first pfn, or 0 when nothing is free. A domain whose <see cref="StartPfn"/> is 0 cannot tell pfn 0 from
    /// failure, as in Linux; the DMA layer starts at pfn 1.
    /// </returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sizePages"/> is 0 or <paramref name="cpu"/> is out of range.</exception>
    /// <exception cref="ObjectDisposedException">The domain was disposed.</exception>
    public ulong AllocIovaFast(ulong sizePages, ulong limitPfn, bool flushRcache, int cpu)
    {
        ArgumentOutOfRangeException.ThrowIfZero(sizePages);
        CheckCpu(cpu);
        ObjectDisposedException.ThrowIf(_disposed, this);

        // Rounding keeps what is freed into a class the same size as what that class hands out again.
        if (sizePages < RoundUpBelowPages)
        {
            sizePages = BitOperations.RoundUpToPowerOf2(sizePages);
        }

        ulong limit = ExclusiveLimit(limitPfn);
        int sizeClass = OrderBase2(sizePages);

        // Deviation: Linux computes limit - size unsigned, so a limit below the size would accept any cached pfn.
        if (sizeClass < RangeCacheClasses && limit >= sizePages)
        {
            ulong pfn = _rcaches[sizeClass].Get(cpu, limit - sizePages);
            if (pfn != 0)
            {
                return pfn;
            }
        }

        while (true)
        {
            int node;
            lock (_treeLock)
            {
                node = AllocAndInsertRange(sizePages, limit, sizeAligned: true);
                if (node != IovaTree.Nil)
                {
                    return _tree[node].PfnLo;
                }
            }

            if (!flushRcache)
            {
                return 0;
            }

            flushRcache = false;
            FlushRcaches();
        }
    }

    /// <summary>
    /// Linux <c>free_iova_fast</c> on the calling thread's CPU (<see cref="CurrentCpu"/>); see
    /// <see cref="FreeIovaFast(ulong, ulong, int)"/>.
    /// </summary>
    public void FreeIovaFast(ulong pfn, ulong sizePages) => FreeIovaFast(pfn, sizePages, CurrentCpu);

    /// <summary>
    /// Linux <c>free_iova_fast</c>: puts a range from <see cref="AllocIovaFast(ulong, ulong, bool, int)"/> into the
    /// CPU's cache of its size class (it stays allocated in the tree until a flush, trim or overflow frees it); ranges
    /// of more than 32 pages go straight back to the tree.
    /// </summary>
    /// <param name="pfn">The first pfn, as the allocation returned it.</param>
    /// <param name="sizePages">The size passed to the allocation (rounded or not: both give the same class).</param>
    /// <param name="cpu">The CPU whose magazines receive it, 0 to <see cref="CpuCount"/> - 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sizePages"/> is 0 or <paramref name="cpu"/> is out of range.</exception>
    /// <exception cref="ArgumentException">
    /// With <see cref="VerifyFastFrees"/>: no live range starts at <paramref name="pfn"/>, or its size class differs.
    /// A second free of a range that is already cached is not detected.
    /// </exception>
    /// <exception cref="ObjectDisposedException">The domain was disposed.</exception>
    public void FreeIovaFast(ulong pfn, ulong sizePages, int cpu) => FreeIovaFast(pfn, sizePages, cpu, VerifyFastFrees);

    /// <summary>The check <see cref="FreeIovaFast(ulong, ulong, int)"/> makes with <see cref="VerifyFastFrees"/>, made early (a flush queue makes it when a range is queued).</summary>
    internal void VerifyFastFree(ulong pfn, ulong sizePages)
    {
        ArgumentOutOfRangeException.ThrowIfZero(sizePages);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (VerifyFastFrees)
        {
            VerifyLive(pfn, sizePages, OrderBase2(sizePages));
        }
    }

    /// <summary><see cref="FreeIovaFast(ulong, ulong, int)"/>, verifying only when <paramref name="verify"/>.</summary>
    internal void FreeIovaFast(ulong pfn, ulong sizePages, int cpu, bool verify)
    {
        ArgumentOutOfRangeException.ThrowIfZero(sizePages);
        CheckCpu(cpu);
        ObjectDisposedException.ThrowIf(_disposed, this);
        int sizeClass = OrderBase2(sizePages);
        if (verify)
        {
            VerifyLive(pfn, sizePages, sizeClass);
        }

        if (sizeClass < RangeCacheClasses)
        {
            _rcaches[sizeClass].Insert(cpu, pfn);
            return;
        }

        FreeIova(pfn);
    }

    /// <summary>
    /// Linux <c>free_cpu_cached_iovas</c> (CPU hot-unplug): frees every IOVA in <paramref name="cpu"/>'s magazines to
    /// the tree.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="cpu"/> is out of range.</exception>
    public void FreeCpuCachedIovas(int cpu)
    {
        CheckCpu(cpu);
        foreach (IovaRcache rcache in _rcaches)
        {
            rcache.FreeCpu(cpu);
        }
    }

    /// <summary>Linux <c>free_global_cached_iovas</c>: frees every IOVA in the depots to the tree.</summary>
    public void FreeGlobalCachedIovas()
    {
        foreach (IovaRcache rcache in _rcaches)
        {
            rcache.FreeDepot();
        }
    }

    /// <summary>What a flushing fast allocation does before its retry: every CPU's caches, then the depots.</summary>
    public void FlushRcaches()
    {
        for (int cpu = 0; cpu < CpuCount; cpu++)
        {
            FreeCpuCachedIovas(cpu);
        }

        FreeGlobalCachedIovas();
    }

    /// <summary>
    /// One run of newer kernels' delayed depot worker (<c>iova_depot_work_func</c>) for every size class: where a
    /// depot holds more magazines than <see cref="CpuCount"/>, one magazine's IOVAs are freed to the tree. Call it
    /// repeatedly (the kernel runs it every 100 ms while it finds work) or set
    /// <see cref="IovaDomainOptions.DepotTrimDelay"/>. The capped model has no such worker, and this returns 0.
    /// </summary>
    /// <returns>How many magazines were freed (at most one per size class).</returns>
    public int TrimDepot()
    {
        int trimmed = 0;
        foreach (IovaRcache rcache in _rcaches)
        {
            if (rcache.TrimOne())
            {
                trimmed++;
            }
        }

        return trimmed;
    }

    /// <summary>Linux <c>iova_magazine_free_pfns</c>: frees a magazine's IOVAs to the tree and empties it.</summary>
    internal void FreeMagazinePfns(IovaMagazine magazine)
    {
        if (magazine.IsEmpty)
        {
            return;
        }

        lock (_treeLock)
        {
            for (int i = 0; i < magazine.Size; i++)
            {
                int node = _tree.Find(magazine[i]);
                if (node != IovaTree.Nil && node != _anchor)
                {
                    RemoveNode(node); // Linux WARNs and skips a pfn that is not in the tree
                }
            }
        }

        magazine.Clear();
    }

    /// <summary>The check of a fast free, without the tree lock (<see cref="IovaLiveIndex"/>).</summary>
    private void VerifyLive(ulong pfn, ulong sizePages, int sizeClass)
    {
        ulong pages = _live.PagesAt(pfn);
        if (pages == 0)
        {
            IovaThrowHelper.ThrowNotAllocated(pfn);
        }

        if (OrderBase2(pages) != sizeClass)
        {
            IovaThrowHelper.ThrowWrongSize(pfn, pages, sizePages);
        }
    }

    private void CheckCpu(int cpu)
    {
        if (unchecked((uint)cpu) >= (uint)CpuCount) // one compare for negative and too large
        {
            IovaThrowHelper.ThrowCpuOutOfRange(cpu, CpuCount);
        }
    }
}
