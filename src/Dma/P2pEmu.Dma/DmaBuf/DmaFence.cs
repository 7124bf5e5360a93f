using System;
using System.Diagnostics;
using System.Threading;

namespace P2pEmu.Dma.DmaBuf;

/// <summary>
/// A minimal Linux <c>struct dma_fence</c>: a one-shot completion of asynchronous device work (a DMA the importer
/// issued, say). It starts unsignaled; <see cref="Signal"/> completes it once; waiters block until then.
/// </summary>
public sealed class DmaFence
{
    private static long s_nextSeqno;

    private readonly object _gate = new();
    private bool _signaled;
    private int _waiters;

    public DmaFence(string? name = null)
    {
        Seqno = Interlocked.Increment(ref s_nextSeqno);
        Name = name ?? $"fence{Seqno}";
    }

    /// <summary>A machine-wide sequence number (Linux numbers fences per context).</summary>
    public long Seqno { get; }

    public string Name { get; }

    /// <summary><c>dma_fence_is_signaled</c>.</summary>
    public bool IsSignaled => Volatile.Read(ref _signaled);

    /// <summary>Threads blocked in <see cref="Wait"/> (diagnostics: shows that someone waits for the work).</summary>
    public int Waiters => Volatile.Read(ref _waiters);

    /// <summary><c>dma_fence_signal</c>: completes the fence and wakes its waiters.</summary>
    /// <returns>False when the fence was already signaled.</returns>
    public bool Signal()
    {
        lock (_gate)
        {
            if (_signaled)
            {
                return false;
            }

            Volatile.Write(ref _signaled, true);
            Monitor.PulseAll(_gate);
            return true;
        }
    }

    /// <summary><c>dma_fence_wait_timeout</c>: waits until the fence is signaled or <paramref name="timeout"/> passes.</summary>
    /// <returns>True when signaled; false on timeout.</returns>
    public bool Wait(TimeSpan timeout)
    {
        long start = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            while (!_signaled)
            {
                TimeSpan left = timeout == Timeout.InfiniteTimeSpan ? timeout : timeout - Stopwatch.GetElapsedTime(start);
                if (left != Timeout.InfiniteTimeSpan && left <= TimeSpan.Zero)
                {
                    return false;
                }

                _waiters++;
                try
                {
                    Monitor.Wait(_gate, left);
                }
                finally
                {
                    _waiters--;
                }
            }

            return true;
        }
    }

    public override string ToString() => $"{Name}{(IsSignaled ? " (signaled)" : string.Empty)}";
}
