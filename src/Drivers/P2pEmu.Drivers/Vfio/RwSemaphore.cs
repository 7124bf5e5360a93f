using System;
using System.Threading;

namespace P2pEmu.Drivers.Vfio;

/// <summary>
/// A kernel <c>rw_semaphore</c> (vfio's <c>memory_lock</c>): many readers or one writer, writers preferred once
/// waiting. Not recursive.
/// </summary>
internal sealed class RwSemaphore
{
    private readonly object _gate = new();
    private int _readers;
    private int _waitingWriters;
    private Thread? _writer;

    /// <summary>True when the current thread holds it for writing (<c>lockdep_assert_held_write</c>).</summary>
    public bool IsWriteHeldByCurrentThread => ReferenceEquals(Volatile.Read(ref _writer), Thread.CurrentThread);

    /// <summary><c>down_read</c>.</summary>
    public void DownRead()
    {
        lock (_gate)
        {
            while (_writer is not null || _waitingWriters > 0)
            {
                Monitor.Wait(_gate);
            }

            _readers++;
        }
    }

    /// <summary><c>up_read</c>.</summary>
    public void UpRead()
    {
        lock (_gate)
        {
            if (--_readers == 0)
            {
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary><c>down_write</c>.</summary>
    /// <exception cref="InvalidOperationException">The current thread already holds it for writing.</exception>
    public void DownWrite()
    {
        lock (_gate)
        {
            if (ReferenceEquals(_writer, Thread.CurrentThread))
            {
                throw new InvalidOperationException("memory_lock taken recursively.");
            }

            _waitingWriters++;
            while (_writer is not null || _readers > 0)
            {
                Monitor.Wait(_gate);
            }

            _waitingWriters--;
            Volatile.Write(ref _writer, Thread.CurrentThread);
        }
    }

    /// <summary><c>up_write</c>.</summary>
    public void UpWrite()
    {
        lock (_gate)
        {
            Volatile.Write(ref _writer, null);
            Monitor.PulseAll(_gate);
        }
    }
}
