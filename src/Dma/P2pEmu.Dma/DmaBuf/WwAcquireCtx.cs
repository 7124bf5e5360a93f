using System;
using System.Threading;

namespace P2pEmu.Dma.DmaBuf;

/// <summary>
/// Linux <c>struct ww_acquire_ctx</c>: one thread's transaction taking several reservation locks. An older
/// transaction (smaller <see cref="Stamp"/>) wins: a younger one that would wait for it while holding locks gets
/// EDEADLK, drops everything and retries, taking the contended lock first with <see cref="DmaResv.LockSlow"/>.
/// </summary>
/// <remarks>
/// Deviation: Linux's reservation class uses wound-wait (the older transaction wounds a younger holder); this
/// uses wait-die (the younger one backs off when it would wait). Both guarantee progress without deadlock; a
/// caller sees EDEADLK at a lock call in either.
/// </remarks>
public sealed class WwAcquireCtx
{
    private static long s_nextStamp;

    /// <summary><c>ww_acquire_init</c> on the current thread.</summary>
    public WwAcquireCtx()
    {
        Stamp = Interlocked.Increment(ref s_nextStamp);
        Thread = Thread.CurrentThread;
    }

    /// <summary>The transaction's age: smaller is older.</summary>
    public long Stamp { get; }

    /// <summary>The thread the context belongs to; only it may lock with it.</summary>
    public Thread Thread { get; }

    /// <summary>Locks held through this context.</summary>
    public int Acquired { get; internal set; }

    /// <summary><c>ww_acquire_fini</c>: the transaction is over.</summary>
    /// <exception cref="InvalidOperationException">Locks taken through the context are still held.</exception>
    public void Fini()
    {
        if (Acquired != 0)
        {
            throw new InvalidOperationException($"ww_acquire_fini with {Acquired} lock(s) still held.");
        }
    }
}
