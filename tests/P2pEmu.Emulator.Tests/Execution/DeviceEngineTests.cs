using System;
using System.Threading;
using P2pEmu.Emulator.Execution;
using Xunit;

namespace P2pEmu.Emulator.Tests.Execution;

public sealed class DeviceEngineTests
{
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(30);

    [Fact]
    public void Kick_Deterministic_RunsTheWorkInsideTheCall_OnTheCallersThread()
    {
        int workThread = 0;
        int runs = 0;
        using var engine = new DeviceEngine("dev", ExecutionMode.Deterministic, () =>
        {
            workThread = Environment.CurrentManagedThreadId;
            runs++;
        });

        engine.Kick();

        Assert.Equal(1, runs);
        Assert.Equal(Environment.CurrentManagedThreadId, workThread);
        Assert.True(engine.WaitIdle(TimeSpan.Zero));
    }

    [Fact]
    public void Kick_FromInsideTheWork_RunsOneMoreRound_WithoutRecursing()
    {
        int depth = 0;
        int maxDepth = 0;
        int runs = 0;
        DeviceEngine? engine = null;
        engine = new DeviceEngine("dev", ExecutionMode.Deterministic, () =>
        {
            depth++;
            maxDepth = Math.Max(maxDepth, depth);
            if (++runs < 3)
            {
                engine!.Kick();
            }

            depth--;
        });

        engine.Kick();

        Assert.Equal(3, runs);
        Assert.Equal(1, maxDepth);
        engine.Dispose();
    }

    [Fact]
    public void Kick_Deterministic_FromAnotherThreadDuringARound_ReturnsAtOnce_AndTheRunningThreadDoesTheWork()
    {
        int runs = 0;
        var workThreads = new System.Collections.Concurrent.ConcurrentBag<int>();
        using var release = new ManualResetEventSlim();
        using var firstRunning = new ManualResetEventSlim();
        using var engine = new DeviceEngine("dev", ExecutionMode.Deterministic, () =>
        {
            workThreads.Add(Environment.CurrentManagedThreadId);
            if (Interlocked.Increment(ref runs) == 1)
            {
                firstRunning.Set();
                release.Wait(s_patience);
            }
        });
        var runner = new Thread(engine.Kick);
        runner.Start();
        Assert.True(firstRunning.Wait(s_patience));

        engine.Kick(); // while the runner is inside the round: must not wait for it (release is still unset)
        bool returnedBeforeRelease = !release.IsSet;
        Assert.Equal(1, Volatile.Read(ref runs));
        release.Set();
        runner.Join();

        Assert.True(returnedBeforeRelease);
        Assert.Equal(2, Volatile.Read(ref runs)); // the runner ran the round this kick asked for
        Assert.DoesNotContain(Environment.CurrentManagedThreadId, workThreads);
        Assert.True(engine.WaitIdle(TimeSpan.Zero));
    }

    [Fact]
    public void Kick_Concurrent_RunsTheWorkOnTheEnginesThread()
    {
        int workThread = 0;
        using var started = new ManualResetEventSlim();
        using var engine = new DeviceEngine("dev", ExecutionMode.Concurrent, () =>
        {
            workThread = Environment.CurrentManagedThreadId;
            started.Set();
        });

        engine.Kick();

        Assert.True(started.Wait(s_patience));
        Assert.True(engine.WaitIdle(s_patience));
        Assert.NotEqual(Environment.CurrentManagedThreadId, workThread);
        Assert.Equal(1, engine.Rounds);
    }

    [Fact]
    public void Kick_Concurrent_WhileARoundRuns_IsNotLost_AndNeverOverlaps()
    {
        int inside = 0;
        int overlaps = 0;
        int runs = 0;
        using var release = new ManualResetEventSlim();
        using var firstRunning = new ManualResetEventSlim();
        using var engine = new DeviceEngine("dev", ExecutionMode.Concurrent, () =>
        {
            if (Interlocked.Increment(ref inside) > 1)
            {
                Interlocked.Increment(ref overlaps);
            }

            firstRunning.Set();
            release.Wait(s_patience);
            Interlocked.Increment(ref runs);
            Interlocked.Decrement(ref inside);
        });

        engine.Kick();
        Assert.True(firstRunning.Wait(s_patience));
        for (int i = 0; i < 100; i++)
        {
            engine.Kick();
        }

        Assert.Equal(0, Volatile.Read(ref runs));
        release.Set();

        Assert.True(engine.WaitIdle(s_patience));
        Assert.Equal(2, Volatile.Read(ref runs));
        Assert.Equal(0, overlaps);
    }

    [Fact]
    public void WaitIdle_WhileTheWorkIsBlocked_TimesOut()
    {
        using var release = new ManualResetEventSlim();
        using var engine = new DeviceEngine("dev", ExecutionMode.Concurrent, () => release.Wait(s_patience));

        engine.Kick();

        Assert.False(engine.WaitIdle(TimeSpan.FromMilliseconds(50)));
        release.Set();
        Assert.True(engine.WaitIdle(s_patience));
    }

    [Fact]
    public void AWorkException_Concurrent_StopsTheEngine_AndSurfacesToTheNextCaller()
    {
        var engine = new DeviceEngine("dev", ExecutionMode.Concurrent, () => throw new InvalidOperationException("device model bug"));

        engine.Kick();

        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => engine.WaitIdle(s_patience));
        Assert.Equal("device model bug", e.Message);
        Assert.Throws<InvalidOperationException>(engine.Kick);
        engine.Dispose();
        Assert.Throws<InvalidOperationException>(engine.Kick);
    }

    [Fact]
    public void Kick_AfterDispose_Throws()
    {
        var engine = new DeviceEngine("dev", ExecutionMode.Concurrent, () => { });
        engine.Dispose();

        Assert.Throws<ObjectDisposedException>(engine.Kick);
    }
}
