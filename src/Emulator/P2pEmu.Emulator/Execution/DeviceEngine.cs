using System;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace P2pEmu.Emulator.Execution;

/// <summary>
/// Runs a device's back-end work (fetching commands, moving data, posting completions) when the host asks for it
/// with a doorbell: inline on the caller's thread in <see cref="ExecutionMode.Deterministic"/> mode, on a thread of
/// the engine's own in <see cref="ExecutionMode.Concurrent"/> mode.
/// </summary>
/// <remarks>
/// <para>
/// The work callback processes everything pending and returns. Kicks that arrive while it runs are coalesced into one
/// more round, so no doorbell is lost and the callback never runs on two threads at once. A kick from inside the
/// callback (inline mode) does not recurse; it schedules the next round. In inline mode a kick from another thread
/// while rounds run returns at once and the running thread does the work, so with several host threads a kick may
/// return before its work is done (with one thread it never does).
/// </para>
/// <para>
/// A device model that throws has a bug, not a guest error: in concurrent mode the engine stops and the exception is
/// rethrown to every later caller of <see cref="Kick"/> and <see cref="WaitIdle"/> (not of <see cref="Dispose"/>).
/// </para>
/// </remarks>
public sealed class DeviceEngine : IDisposable
{
    private readonly Action _work;
    private readonly object _gate = new(); // Monitor, for Wait/Pulse
    private readonly Thread? _thread;
    private int _waiters; // threads in Monitor.Wait on _gate; a pulse with none would only cost a runtime call
    private bool _pending;
    private bool _running;
    private bool _stopping;
    private ExceptionDispatchInfo? _fault;
    private long _rounds;

    /// <param name="name">Names the engine's thread (the device's name).</param>
    /// <param name="mode">Inline or threaded.</param>
    /// <param name="work">Processes all pending work of the device.</param>
    public DeviceEngine(string name, ExecutionMode mode, Action work)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(work);
        Mode = mode;
        _work = work;
        if (mode == ExecutionMode.Concurrent)
        {
            _thread = new Thread(Run) { IsBackground = true, Name = $"P2pEmu {name}" };
            _thread.Start();
        }
    }

    public ExecutionMode Mode { get; }

    /// <summary>Rounds of work run so far.</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    /// <summary>Asks for a round of work: runs it now (deterministic) or wakes the engine (concurrent).</summary>
    /// <exception cref="ObjectDisposedException">The engine was disposed.</exception>
    public void Kick()
    {
        if (Mode == ExecutionMode.Deterministic)
        {
            RunInline();
            return;
        }

        lock (_gate)
        {
            ThrowIfFaultedOrStopped();
            _pending = true;
            PulseWaiters();
        }
    }

    /// <summary>Waits until no work is pending or running (always immediately true in deterministic mode).</summary>
    /// <returns>False when <paramref name="timeout"/> passed first.</returns>
    public bool WaitIdle(TimeSpan timeout)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        lock (_gate)
        {
            while (_pending || _running)
            {
                _fault?.Throw();
                long left = deadline - Environment.TickCount64;
                if (left <= 0 || _stopping)
                {
                    return false;
                }

                WaitOnGate((int)Math.Min(left, int.MaxValue));
            }

            _fault?.Throw();
            return true;
        }
    }

    /// <summary>Stops the engine after the round in progress; pending kicks are dropped. Never throws.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
            PulseWaiters();
        }

        if (_thread is not null && _thread != Thread.CurrentThread)
        {
            _thread.Join();
        }
    }

    /// <summary>
    /// Runs rounds on the caller's thread until none is pending. A kick while another thread runs the rounds does not
    /// wait for them: that thread's next round picks it up, like a posted write the device serves when it gets to it.
    /// Waiting would deadlock a kicker that holds a lock the running round needs (an interrupt handler the round
    /// raises may take the lock the kicker holds while it rings the doorbell).
    /// </summary>
    private void RunInline()
    {
        lock (_gate)
        {
            ThrowIfFaultedOrStopped();
            _pending = true;
            if (_running)
            {
                return; // inside the callback (a kick from the work itself) or another thread's rounds: they repeat
            }

            _running = true;
        }

        try
        {
            while (true)
            {
                lock (_gate)
                {
                    if (!_pending)
                    {
                        // Deciding to stop and clearing _running in one step: a kick in between would be lost.
                        _running = false;
                        PulseWaiters();
                        return;
                    }

                    _pending = false;
                }

                Interlocked.Increment(ref _rounds);
                _work();
            }
        }
        catch
        {
            lock (_gate)
            {
                _running = false;
                PulseWaiters();
            }

            throw;
        }
    }

    private void Run()
    {
        while (true)
        {
            lock (_gate)
            {
                while (!_pending && !_stopping)
                {
                    WaitOnGate(Timeout.Infinite);
                }

                if (_stopping)
                {
                    PulseWaiters();
                    return;
                }

                _running = true;
            }

            try
            {
                RunRounds();
            }
            catch (Exception e)
            {
                lock (_gate)
                {
                    _fault = ExceptionDispatchInfo.Capture(e);
                    _stopping = true;
                }
            }
            finally
            {
                lock (_gate)
                {
                    _running = false;
                    PulseWaiters();
                }
            }
        }
    }

    /// <summary>Runs the work until a round ends with no new kick. Caller has set <c>_running</c>.</summary>
    private void RunRounds()
    {
        while (true)
        {
            lock (_gate)
            {
                if (!_pending)
                {
                    return;
                }

                _pending = false;
            }

            Interlocked.Increment(ref _rounds);
            _work();
        }
    }

    /// <summary>Wakes every thread waiting on the gate, if any. Caller holds the gate.</summary>
    private void PulseWaiters()
    {
        if (_waiters != 0)
        {
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Waits on the gate, counted so that <see cref="PulseWaiters"/> knows. Caller holds the gate.</summary>
    private void WaitOnGate(int milliseconds)
    {
        _waiters++;
        try
        {
            Monitor.Wait(_gate, milliseconds);
        }
        finally
        {
            _waiters--;
        }
    }

    private void ThrowIfFaultedOrStopped()
    {
        _fault?.Throw();
        ObjectDisposedException.ThrowIf(_stopping, this);
    }
}
