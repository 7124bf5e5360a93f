using System.Threading;

namespace P2pEmu.Iommu.IovaAllocator;

/// <summary>
/// One CPU's share of one size class (Linux <c>struct iova_cpu_rcache</c>): a loaded and a previous magazine.
/// </summary>
/// <remarks>
/// Locking: every member takes this object's own spin lock (Linux: the per-CPU rcache spinlock), so a thread that
/// migrated between choosing a CPU index and using it is still safe; it only loses locality. Lock order is this
/// lock, then the size class's depot lock, then the domain's tree lock.
/// </remarks>
internal sealed class IovaCpuRcache
{
    private SpinLock _lock = new(enableThreadOwnerTracking: false);
    private IovaMagazine _loaded;
    private IovaMagazine _prev;

    public IovaCpuRcache(int magazineCapacity)
    {
        _loaded = new IovaMagazine(magazineCapacity);
        _prev = new IovaMagazine(magazineCapacity);
    }

    /// <summary>
    /// Linux <c>__iova_rcache_get</c>: pops from the loaded magazine, else swaps in the previous one, else replaces
    /// the (empty) loaded magazine with a full one from the depot; returns 0 when nothing cached fits
    /// <paramref name="maxPfn"/>.
    /// </summary>
    public ulong Get(IovaRcache owner, ulong maxPfn)
    {
        bool taken = false;
        try
        {
            _lock.Enter(ref taken);
            if (_loaded.IsEmpty)
            {
                if (!_prev.IsEmpty)
                {
                    (_loaded, _prev) = (_prev, _loaded);
                }
                else
                {
                    IovaMagazine? full = owner.TryPopDepot();
                    if (full is null)
                    {
                        return 0;
                    }

                    owner.Recycle(_loaded);
                    _loaded = full;
                }
            }

            return _loaded.Pop(maxPfn);
        }
        finally
        {
            if (taken)
            {
                _lock.Exit(useMemoryBarrier: false);
            }
        }
    }

    /// <summary>
    /// Linux <c>__iova_rcache_insert</c>: pushes into the loaded magazine, else swaps with the previous one, else
    /// hands the full loaded magazine to the depot and starts a fresh one. With the capped depot model the full
    /// magazine may be refused; it is returned in <paramref name="overflow"/> and the caller frees its IOVAs to the
    /// tree after this lock is released, as Linux does.
    /// </summary>
    public void Insert(IovaRcache owner, ulong pfn, out IovaMagazine? overflow)
    {
        overflow = null;
        bool taken = false;
        try
        {
            _lock.Enter(ref taken);
            if (_loaded.IsFull)
            {
                if (!_prev.IsFull)
                {
                    (_loaded, _prev) = (_prev, _loaded);
                }
                else
                {
                    IovaMagazine fresh = owner.RentEmpty();
                    if (!owner.TryPushDepot(_loaded))
                    {
                        overflow = _loaded;
                    }

                    _loaded = fresh;
                }
            }

            _loaded.Push(pfn);
        }
        finally
        {
            if (taken)
            {
                _lock.Exit(useMemoryBarrier: false);
            }
        }
    }

    /// <summary>Linux <c>free_cpu_cached_iovas</c> for one class: frees both magazines' IOVAs to the tree.</summary>
    public void FreeCached(IovaDomain domain)
    {
        bool taken = false;
        try
        {
            _lock.Enter(ref taken);
            domain.FreeMagazinePfns(_loaded);
            domain.FreeMagazinePfns(_prev);
        }
        finally
        {
            if (taken)
            {
                _lock.Exit(useMemoryBarrier: false);
            }
        }
    }

    /// <summary>Tests: how many pfns the loaded and previous magazines hold.</summary>
    public (int Loaded, int Prev) Counts()
    {
        bool taken = false;
        try
        {
            _lock.Enter(ref taken);
            return (_loaded.Size, _prev.Size);
        }
        finally
        {
            if (taken)
            {
                _lock.Exit(useMemoryBarrier: false);
            }
        }
    }
}
