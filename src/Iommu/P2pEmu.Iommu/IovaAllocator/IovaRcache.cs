using System;
using System.Threading;

namespace P2pEmu.Iommu.IovaAllocator;

/// <summary>
/// The cache of one size class (Linux <c>struct iova_rcache</c>): a <see cref="IovaCpuRcache"/> per CPU and the
/// shared depot of full magazines.
/// </summary>
/// <remarks>
/// Locking: the depot, its size and the spare-magazine pool are guarded by this object's spin lock (Linux: the
/// rcache spinlock). It is held only for list operations, never while taking the tree lock: magazines leaving the
/// depot are detached first and their IOVAs freed afterwards, which is observably the same as Linux freeing them
/// under the lock.
/// </remarks>
internal sealed class IovaRcache : IDisposable
{
    /// <summary>The older kernels' <c>MAX_GLOBAL_MAGS</c>.</summary>
    public const int CappedDepotLimit = 32;

    /// <summary>Empty magazines kept for reuse, so steady churn through the depot allocates nothing.</summary>
    private const int SpareLimit = 4;

    private readonly IovaDomain _domain;
    private readonly IovaCpuRcache[] _cpus;
    private readonly int _magazineCapacity;
    private readonly int _depotLimit;
    private readonly int _trimThreshold;
    private readonly TimeSpan _trimDelay;
    private readonly Timer? _trimTimer;
    private SpinLock _lock = new(enableThreadOwnerTracking: false);
    private IovaMagazine? _depot;
    private int _depotSize;
    private IovaMagazine? _spares;
    private int _spareCount;
    private int _trimArmed;
    private volatile bool _disposed;

    public IovaRcache(IovaDomain domain, int cpuCount, IovaMagazineModel model, TimeSpan? trimDelay)
    {
        _domain = domain;
        _cpus = new IovaCpuRcache[cpuCount];
        bool unbounded = model == IovaMagazineModel.Unbounded127;
        _magazineCapacity = unbounded ? 127 : IovaMagazine.MaxCapacity;
        _depotLimit = unbounded ? int.MaxValue : CappedDepotLimit;
        _trimThreshold = cpuCount;
        if (unbounded && trimDelay is TimeSpan delay)
        {
            _trimDelay = delay;
            _trimTimer = new Timer(static state => ((IovaRcache)state!).TrimWork(), this, Timeout.Infinite, Timeout.Infinite);
        }
    }

    public int MagazineCapacity => _magazineCapacity;

    /// <summary>Whether this model trims its depot (only the unbounded one does).</summary>
    public bool Trims => _depotLimit == int.MaxValue;

    /// <summary>Creates CPU <paramref name="cpu"/>'s magazines; the domain calls it CPU by CPU, so one CPU's caches sit together.</summary>
    public void CreateCpu(int cpu) => _cpus[cpu] = new IovaCpuRcache(_magazineCapacity);

    public ulong Get(int cpu, ulong maxPfn) => _cpus[cpu].Get(this, maxPfn);

    public void Insert(int cpu, ulong pfn)
    {
        _cpus[cpu].Insert(this, pfn, out IovaMagazine? overflow);
        if (overflow is not null)
        {
            _domain.FreeMagazinePfns(overflow);
            Recycle(overflow);
        }
    }

    public void FreeCpu(int cpu) => _cpus[cpu].FreeCached(_domain);

    /// <summary>Linux <c>free_global_cached_iovas</c> for this class: empties the depot into the tree.</summary>
    public void FreeDepot()
    {
        IovaMagazine? list;
        bool taken = false;
        try
        {
            _lock.Enter(ref taken);
            list = _depot;
            _depot = null;
            _depotSize = 0;
        }
        finally
        {
            if (taken)
            {
                _lock.Exit(useMemoryBarrier: false);
            }
        }

        while (list is not null)
        {
            IovaMagazine next = list.Next!;
            list.Next = null;
            _domain.FreeMagazinePfns(list);
            Recycle(list);
            list = next;
        }
    }

    /// <summary>
    /// One run of Linux's <c>iova_depot_work_func</c>: when the depot holds more magazines than there are CPUs, frees
    /// one of them to the tree. Returns whether it did.
    /// </summary>
    public bool TrimOne()
    {
        if (!Trims)
        {
            return false;
        }

        IovaMagazine? magazine = null;
        bool taken = false;
        try
        {
            _lock.Enter(ref taken);
            if (_depotSize > _trimThreshold)
            {
                magazine = PopDepotLocked();
            }
        }
        finally
        {
            if (taken)
            {
                _lock.Exit(useMemoryBarrier: false);
            }
        }

        if (magazine is null)
        {
            return false;
        }

        _domain.FreeMagazinePfns(magazine);
        Recycle(magazine);
        return true;
    }

    public IovaMagazine? TryPopDepot()
    {
        bool taken = false;
        try
        {
            _lock.Enter(ref taken);
            return _depot is null ? null : PopDepotLocked();
        }
        finally
        {
            if (taken)
            {
                _lock.Exit(useMemoryBarrier: false);
            }
        }
    }

    /// <summary>Adds a full magazine to the depot; false when the capped depot is full.</summary>
    public bool TryPushDepot(IovaMagazine full)
    {
        bool taken = false;
        try
        {
            _lock.Enter(ref taken);
            if (_depotSize >= _depotLimit)
            {
                return false;
            }

            full.Next = _depot;
            _depot = full;
            _depotSize++;
        }
        finally
        {
            if (taken)
            {
                _lock.Exit(useMemoryBarrier: false);
            }
        }

        ArmTrim();
        return true;
    }

    /// <summary>An empty magazine: a spare if one is pooled, else a new one (allocated outside the lock).</summary>
    public IovaMagazine RentEmpty()
    {
        bool taken = false;
        try
        {
            _lock.Enter(ref taken);
            IovaMagazine? spare = _spares;
            if (spare is not null)
            {
                _spares = spare.Next;
                spare.Next = null;
                _spareCount--;
                return spare;
            }
        }
        finally
        {
            if (taken)
            {
                _lock.Exit(useMemoryBarrier: false);
            }
        }

        return new IovaMagazine(_magazineCapacity);
    }

    /// <summary>Returns an emptied magazine to the spare pool (Linux frees it to the slab).</summary>
    public void Recycle(IovaMagazine magazine)
    {
        magazine.Clear();
        bool taken = false;
        try
        {
            _lock.Enter(ref taken);
            if (_spareCount < SpareLimit)
            {
                magazine.Next = _spares;
                _spares = magazine;
                _spareCount++;
            }
        }
        finally
        {
            if (taken)
            {
                _lock.Exit(useMemoryBarrier: false);
            }
        }
    }

    public int DepotSize()
    {
        bool taken = false;
        try
        {
            _lock.Enter(ref taken);
            return _depotSize;
        }
        finally
        {
            if (taken)
            {
                _lock.Exit(useMemoryBarrier: false);
            }
        }
    }

    public (int Loaded, int Prev) CpuCounts(int cpu) => _cpus[cpu].Counts();

    public void Dispose()
    {
        _disposed = true;
        _trimTimer?.Dispose();
    }

    private IovaMagazine PopDepotLocked()
    {
        IovaMagazine magazine = _depot!;
        _depot = magazine.Next;
        magazine.Next = null;
        _depotSize--;
        return magazine;
    }

    /// <summary>Linux <c>schedule_delayed_work</c>: arms the timer unless it is already pending.</summary>
    private void ArmTrim()
    {
        if (_trimTimer is not null && !_disposed && Interlocked.CompareExchange(ref _trimArmed, 1, 0) == 0)
        {
            try
            {
                _trimTimer.Change(_trimDelay, Timeout.InfiniteTimeSpan);
            }
            catch (ObjectDisposedException)
            {
                // Dispose raced with a push or a timer run; nothing is left to trim for.
            }
        }
    }

    private void TrimWork()
    {
        // Not pending any more once it runs, so a push from here on re-arms it, as with a kernel delayed work.
        Volatile.Write(ref _trimArmed, 0);
        if (!_disposed && TrimOne())
        {
            ArmTrim();
        }
    }
}
