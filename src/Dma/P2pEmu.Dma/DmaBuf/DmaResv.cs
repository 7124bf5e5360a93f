using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Dma.DmaBuf;

/// <summary>
/// Linux <c>struct dma_resv</c>: a buffer's reservation object — a ww_mutex that knows which thread holds it, and
/// the fences of work still using the buffer, each with a <see cref="DmaResvUsage"/>.
/// </summary>
/// <remarks>
/// <para>
/// Linux checks the dma-buf locking convention with lockdep and <c>dma_resv_assert_held</c> WARNs, and a thread
/// that takes a lock it already holds hangs. Here every check is exact (the holder is a thread) and a broken rule
/// is an error the caller sees plus a <see cref="DmaBufViolation"/> on the host: locking a reservation the thread
/// already holds returns EDEADLK instead of hanging; a wait longer than <see cref="DmaBufHost.LockTimeout"/>
/// (a deadlock between threads) returns EDEADLK instead of hanging forever.
/// </para>
/// <para>Thread safety: every member may be called from any thread; the state is guarded by one monitor.</para>
/// </remarks>
public sealed class DmaResv
{
    private readonly object _gate = new();
    private readonly List<(DmaFence Fence, DmaResvUsage Usage)> _fences = new();
    private Thread? _owner;
    private WwAcquireCtx? _ownerCtx;

    /// <summary><c>dma_resv_init</c>: an unlocked reservation object with no fences.</summary>
    public DmaResv(DmaBufHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        Host = host;
    }

    /// <summary>The framework that records broken rules.</summary>
    public DmaBufHost Host { get; }

    /// <summary><c>dma_resv_is_locked</c>.</summary>
    public bool IsLocked => Volatile.Read(ref _owner) is not null;

    /// <summary><c>dma_resv_held</c>, exactly: the current thread holds the lock.</summary>
    public bool IsHeldByCurrentThread => ReferenceEquals(Volatile.Read(ref _owner), Thread.CurrentThread);

    /// <summary>Fences not yet signaled.</summary>
    public int PendingFences
    {
        get
        {
            lock (_gate)
            {
                int pending = 0;
                foreach ((DmaFence fence, _) in _fences)
                {
                    pending += fence.IsSignaled ? 0 : 1;
                }

                return pending;
            }
        }
    }

    /// <summary>
    /// <c>dma_resv_lock</c>: takes the lock, waiting while another thread holds it. With a context, a younger
    /// transaction that holds other locks gets EDEADLK instead of waiting for an older one (back off and retry).
    /// </summary>
    /// <returns>
    /// None; EALREADY when <paramref name="ctx"/> already holds it (as Linux); EDEADLK when the current thread already
    /// holds it without that context (a self-deadlock in Linux, recorded), when the wait-die rule says back off, or
    /// when the wait exceeded <see cref="DmaBufHost.LockTimeout"/> (recorded).
    /// </returns>
    /// <exception cref="InvalidOperationException"><paramref name="ctx"/> belongs to another thread.</exception>
    public Errno Lock(WwAcquireCtx? ctx = null) => LockCore(ctx, slow: false, "dma_resv_lock");

    /// <summary><c>dma_resv_lock_interruptible</c>: as <see cref="Lock"/> (signals are not modelled).</summary>
    public Errno LockInterruptible(WwAcquireCtx? ctx = null) => LockCore(ctx, slow: false, "dma_resv_lock_interruptible");

    /// <summary>
    /// <c>dma_resv_lock_slow</c>: after EDEADLK and dropping every other lock of <paramref name="ctx"/>, takes the
    /// contended lock, waiting as long as needed.
    /// </summary>
    public Errno LockSlow(WwAcquireCtx ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        return LockCore(ctx, slow: true, "dma_resv_lock_slow");
    }

    /// <summary><c>dma_resv_trylock</c>: takes the lock only if it is free.</summary>
    public bool TryLock()
    {
        lock (_gate)
        {
            if (_owner is not null)
            {
                return false;
            }

            Volatile.Write(ref _owner, Thread.CurrentThread);
            return true;
        }
    }

    /// <summary><c>dma_resv_unlock</c>.</summary>
    /// <returns>None; ENOLCK (recorded, nothing changes) when the current thread does not hold the lock.</returns>
    public Errno Unlock()
    {
        lock (_gate)
        {
            if (!ReferenceEquals(_owner, Thread.CurrentThread))
            {
                Host.Violate(DmaBufViolationKind.UnlockNotOwner, "dma_resv_unlock", "the reservation lock is not held by this thread");
                return Errno.ENOLCK;
            }

            if (_ownerCtx is not null)
            {
                _ownerCtx.Acquired--;
            }

            _ownerCtx = null;
            Volatile.Write(ref _owner, null);
            Monitor.PulseAll(_gate);
            return Errno.None;
        }
    }

    /// <summary>
    /// <c>dma_resv_add_fence</c>: records <paramref name="fence"/> with its usage. The lock must be held. Signaled
    /// fences are dropped as new ones come in.
    /// </summary>
    /// <returns>None; ENOLCK when the lock is not held (recorded, the fence is not added).</returns>
    public Errno AddFence(DmaFence fence, DmaResvUsage usage)
    {
        ArgumentNullException.ThrowIfNull(fence);
        Errno held = AssertHeld("dma_resv_add_fence");
        if (held != Errno.None)
        {
            return held;
        }

        lock (_gate)
        {
            _fences.RemoveAll(f => f.Fence.IsSignaled);
            _fences.Add((fence, usage));
        }

        return Errno.None;
    }

    /// <summary>
    /// <c>dma_resv_wait_timeout</c>: waits for every fence whose usage is <paramref name="usage"/> or comes before it.
    /// The lock may or may not be held.
    /// </summary>
    /// <param name="interruptible">Accepted for fidelity; signals are not modelled.</param>
    /// <returns>None; ETIMEDOUT when a fence was still unsignaled after <paramref name="timeout"/> (Linux returns 0).</returns>
    public Errno WaitTimeout(DmaResvUsage usage, bool interruptible, TimeSpan timeout)
    {
        _ = interruptible;
        long start = Stopwatch.GetTimestamp();
        foreach (DmaFence fence in FencesUpTo(usage))
        {
            TimeSpan left = timeout == Timeout.InfiniteTimeSpan ? timeout : timeout - Stopwatch.GetElapsedTime(start);
            if (!fence.Wait(left < TimeSpan.Zero && left != Timeout.InfiniteTimeSpan ? TimeSpan.Zero : left))
            {
                return Errno.ETIMEDOUT;
            }
        }

        return Errno.None;
    }

    /// <summary><c>dma_resv_test_signaled</c>: every fence of <paramref name="usage"/> or before is signaled.</summary>
    public bool TestSignaled(DmaResvUsage usage)
    {
        foreach (DmaFence fence in FencesUpTo(usage))
        {
            if (!fence.IsSignaled)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary><c>dma_resv_assert_held</c>: ENOLCK, recorded, when the current thread does not hold the lock.</summary>
    internal Errno AssertHeld(string function)
    {
        if (IsHeldByCurrentThread)
        {
            return Errno.None;
        }

        Host.Violate(DmaBufViolationKind.LockNotHeld, function, "called without holding the reservation lock");
        return Errno.ENOLCK;
    }

    /// <summary>The locking convention's "must not hold": EDEADLK, recorded, when the current thread holds the lock.</summary>
    internal Errno AssertNotHeld(string function)
    {
        if (!IsHeldByCurrentThread)
        {
            return Errno.None;
        }

        Host.Violate(DmaBufViolationKind.LockHeld, function, "called with the reservation lock held (it would deadlock)");
        return Errno.EDEADLK;
    }

    private List<DmaFence> FencesUpTo(DmaResvUsage usage)
    {
        var fences = new List<DmaFence>();
        lock (_gate)
        {
            foreach ((DmaFence fence, DmaResvUsage u) in _fences)
            {
                if (u <= usage)
                {
                    fences.Add(fence);
                }
            }
        }

        return fences;
    }

    private Errno LockCore(WwAcquireCtx? ctx, bool slow, string function)
    {
        Thread me = Thread.CurrentThread;
        if (ctx is not null && !ReferenceEquals(ctx.Thread, me))
        {
            throw new InvalidOperationException("A ww_acquire_ctx is used by a thread other than its own.");
        }

        long start = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            if (ReferenceEquals(_owner, me))
            {
                if (ctx is not null && ReferenceEquals(ctx, _ownerCtx))
                {
                    return Errno.EALREADY;
                }

                Host.Violate(DmaBufViolationKind.LockHeld, function, "the reservation lock is already held by this thread (recursive locking)");
                return Errno.EDEADLK;
            }

            while (_owner is not null)
            {
                // Wait-die: a younger transaction holding other locks must not wait for an older one.
                if (!slow && ctx is not null && _ownerCtx is not null && ctx.Stamp > _ownerCtx.Stamp && ctx.Acquired > 0)
                {
                    return Errno.EDEADLK;
                }

                TimeSpan left = Host.LockTimeout == Timeout.InfiniteTimeSpan ? Timeout.InfiniteTimeSpan : Host.LockTimeout - Stopwatch.GetElapsedTime(start);
                if (left != Timeout.InfiniteTimeSpan && (left <= TimeSpan.Zero || !Monitor.Wait(_gate, left)))
                {
                    Host.Violate(DmaBufViolationKind.LockTimeout, function, $"waited more than {Host.LockTimeout.TotalSeconds:0.###} s for the reservation lock held by thread {_owner?.ManagedThreadId} (deadlock)");
                    return Errno.EDEADLK;
                }

                if (left == Timeout.InfiniteTimeSpan)
                {
                    Monitor.Wait(_gate);
                }
            }

            Volatile.Write(ref _owner, me);
            _ownerCtx = ctx;
            if (ctx is not null)
            {
                ctx.Acquired++;
            }

            return Errno.None;
        }
    }
}
