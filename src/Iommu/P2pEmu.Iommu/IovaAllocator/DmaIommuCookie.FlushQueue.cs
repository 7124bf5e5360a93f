using System;
using System.Collections.Generic;
using System.Threading;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Iommu.Hardware;

namespace P2pEmu.Iommu.IovaAllocator;

/// <summary>
/// The lazy-invalidation half of dma-iommu (Linux's flush queue, <c>iommu.strict=0</c>, the x86 default): an unmapped
/// range is not invalidated in the IOTLB at once. Its IOVA (and any page-table pages the unmap emptied) waits in the
/// CPU's queue until a domain-wide IOTLB flush has run after it was queued: when the queue is full, or when the
/// timer fires <see cref="DefaultFlushQueueTimeout"/> after the first range was queued. Until then a device whose
/// IOTLB still holds the translation reaches the old page — the window Linux accepts for speed; the IOVA itself is
/// not reused before the flush.
/// </summary>
public sealed partial class DmaIommuCookie
{
    /// <summary>Linux <c>IOVA_DEFAULT_FQ_SIZE</c>: ranges per CPU queue (one slot stays empty).</summary>
    public const int DefaultFlushQueueSize = 256;

    /// <summary>Linux <c>IOVA_DEFAULT_FQ_TIMEOUT</c>: 10 ms.</summary>
    public static readonly TimeSpan DefaultFlushQueueTimeout = TimeSpan.FromMilliseconds(10);

    private IommuDomain? _fqDomain;
    private IovaFlushQueue[]? _fq;
    private Timer? _fqTimer;
    private TimeSpan _fqTimeout = DefaultFlushQueueTimeout;
    private int _fqTimerOn;
    private long _fqFlushStartCount;
    private long _fqFlushFinishCount;

    /// <summary>The domain whose unmaps are queued (Linux <c>cookie->fq_domain</c>); null in strict mode.</summary>
    public IommuDomain? FlushQueueDomain => Volatile.Read(ref _fqDomain);

    /// <summary>Domain-wide IOTLB flushes the queues have started (Linux <c>fq_flush_start_cnt</c>).</summary>
    public long FlushQueueFlushStartCount => Volatile.Read(ref _fqFlushStartCount);

    /// <summary>Domain-wide IOTLB flushes the queues have finished (Linux <c>fq_flush_finish_cnt</c>).</summary>
    public long FlushQueueFlushFinishCount => Volatile.Read(ref _fqFlushFinishCount);

    /// <summary>
    /// How long after the first queued range the timer flushes (<see cref="DefaultFlushQueueTimeout"/> unless set);
    /// <see cref="Timeout.InfiniteTimeSpan"/> leaves only full queues and <see cref="FlushQueues"/> to flush. A change
    /// applies from the next time the timer is armed.
    /// </summary>
    public TimeSpan FlushQueueTimeout
    {
        get => _fqTimeout;
        set
        {
            if (value != Timeout.InfiniteTimeSpan)
            {
                ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            }

            _fqTimeout = value;
        }
    }

    /// <summary>Ranges waiting in all CPU queues for a flush.</summary>
    public int FlushQueueDepth
    {
        get
        {
            int count = 0;
            foreach (IovaFlushQueue fq in _fq ?? [])
            {
                lock (fq.Lock)
                {
                    count += fq.Count;
                }
            }

            return count;
        }
    }

    /// <summary>
    /// Linux <c>iommu_dma_init_fq</c>: from now on <see cref="QueueIova"/> defers the frees of ranges unmapped from
    /// <paramref name="domain"/> (the domain becomes <c>IOMMU_DOMAIN_DMA_FQ</c>).
    /// </summary>
    /// <param name="size">Ranges per CPU queue: a power of two of at least 2.</param>
    /// <exception cref="InvalidOperationException">The flush queue was set up already.</exception>
    public void IommuDmaInitFq(IommuDomain domain, int size = DefaultFlushQueueSize)
    {
        ArgumentNullException.ThrowIfNull(domain);
        if (size < 2 || (size & (size - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "The flush queue size must be a power of two of at least 2.");
        }

        if (_fqDomain is not null)
        {
            throw new InvalidOperationException("The flush queue of this cookie is set up already.");
        }

        var queues = new IovaFlushQueue[Domain.CpuCount];
        for (int i = 0; i < queues.Length; i++)
        {
            queues[i] = new IovaFlushQueue(size);
        }

        _fq = queues;
        _fqTimer = new Timer(static state => ((DmaIommuCookie)state!).FqFlushTimeout(), this, Timeout.Infinite, Timeout.Infinite);
        Volatile.Write(ref _fqDomain, domain);
    }

    /// <summary>
    /// Linux <c>queue_iova</c>: queues a range the caller unmapped with <see cref="IommuDomain.UnmapFast"/> (no IOTLB
    /// sync), with the page-table pages that unmap emptied, on <paramref name="cpu"/>'s queue. Ranges already covered
    /// by a finished flush are freed first; a full queue flushes the IOTLB and frees what the flush covered.
    /// </summary>
    /// <param name="freelist">Pages to free after the flush; emptied by this call. Null when there are none.</param>
    /// <exception cref="InvalidOperationException">No flush queue was set up.</exception>
    /// <exception cref="ArgumentException">The size is not granule-aligned, or (with verification on) the IOVA is not allocated.</exception>
    public void QueueIova(Iova iova, ulong sizeBytes, List<ulong>? freelist, int cpu)
    {
        IovaFlushQueue[] queues = _fq ?? throw new InvalidOperationException("This cookie has no flush queue; free the IOVA with IommuDmaFreeIova.");
        CheckSize(sizeBytes);
        int shift = Domain.Shift;
        ulong pfn = iova.Value >> shift;
        ulong pages = sizeBytes >> shift;
        Domain.VerifyFastFree(pfn, pages);
        IovaFlushQueue fq = queues[cpu];

        // Orders the caller's page-table clears before a flush that another CPU may start once the range is visible.
        Interlocked.MemoryBarrier();
        lock (fq.Lock)
        {
            RingFree(fq, cpu);
            if (fq.IsFull)
            {
                FqFlushIotlb();
                RingFree(fq, cpu);
            }

            IovaFlushQueue.Entry entry = fq.Add(pfn, pages, Volatile.Read(ref _fqFlushStartCount));
            if (freelist is { Count: > 0 })
            {
                entry.Freelist.AddRange(freelist);
                freelist.Clear();
            }
        }

        IommuEventSource log = IommuEventSource.Log;
        if (log.IsEnabled())
        {
            log.IovaFree(Id, (long)iova.Value, (long)sizeBytes);
        }

        if (Volatile.Read(ref _fqTimerOn) == 0 && Interlocked.Exchange(ref _fqTimerOn, 1) == 0 && _fqTimeout != Timeout.InfiniteTimeSpan)
        {
            _fqTimer!.Change(_fqTimeout, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>
    /// What the flush-queue timer does (Linux <c>fq_flush_timeout</c>): one domain-wide IOTLB flush, then every queued
    /// range of every CPU is freed. Does nothing without a flush queue.
    /// </summary>
    public void FlushQueues()
    {
        if (_fq is not IovaFlushQueue[] queues)
        {
            return;
        }

        Volatile.Write(ref _fqTimerOn, 0);
        FqFlushIotlb();
        for (int cpu = 0; cpu < queues.Length; cpu++)
        {
            lock (queues[cpu].Lock)
            {
                RingFree(queues[cpu], cpu);
            }
        }
    }

    private void FqFlushTimeout()
    {
        try
        {
            FlushQueues();
        }
        catch (ObjectDisposedException)
        {
            // The cookie or its domain went away while the timer was due.
        }
    }

    /// <summary>Linux <c>fq_flush_iotlb</c>.</summary>
    private void FqFlushIotlb()
    {
        Interlocked.Increment(ref _fqFlushStartCount);
        _fqDomain!.FlushIotlbAll();
        Interlocked.Increment(ref _fqFlushFinishCount);
    }

    /// <summary>Linux <c>fq_ring_free_locked</c>: frees the ranges queued before the last finished flush began. Caller holds the queue's lock.</summary>
    private void RingFree(IovaFlushQueue fq, int cpu)
    {
        long finished = Volatile.Read(ref _fqFlushFinishCount);
        while (fq.Peek() is IovaFlushQueue.Entry entry && entry.Counter < finished)
        {
            if (entry.Freelist.Count != 0)
            {
                _fqDomain!.FreePageTables(entry.Freelist);
            }

            Domain.FreeIovaFast(entry.Pfn, entry.Pages, cpu, verify: false);
            fq.RemoveHead();
        }
    }

    /// <summary>Linux <c>iommu_dma_free_fq</c>: stops the timer and frees the page-table pages still queued.</summary>
    private void FreeFlushQueues()
    {
        if (_fq is not IovaFlushQueue[] queues)
        {
            return;
        }

        _fqTimer!.Dispose();
        foreach (IovaFlushQueue fq in queues)
        {
            lock (fq.Lock)
            {
                while (fq.Peek() is IovaFlushQueue.Entry entry)
                {
                    if (entry.Freelist.Count != 0)
                    {
                        _fqDomain!.FreePageTables(entry.Freelist);
                    }

                    fq.RemoveHead();
                }
            }
        }
    }
}
