using System;
using System.Linq;
using System.Threading;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Emulator.Host;
using Xunit;

namespace P2pEmu.Dma.Tests.DmaBuf;

public sealed class DmaResvTests
{
    private static void OnThread(Action action)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                action();
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            throw new InvalidOperationException("The other thread failed.", failure);
        }
    }

    private static void WaitUntilBlocked(Thread thread) =>
        Assert.True(SpinWait.SpinUntil(() => (thread.ThreadState & ThreadState.WaitSleepJoin) != 0, TimeSpan.FromSeconds(10)));

    [Fact]
    public void Lock_Free_IsHeldByThisThreadOnly_UntilUnlocked()
    {
        using var m = new DmaBufMachine();
        var resv = new DmaResv(m.Host);

        Assert.Equal(Errno.None, resv.Lock());

        Assert.True(resv.IsLocked);
        Assert.True(resv.IsHeldByCurrentThread);
        OnThread(() => Assert.False(resv.IsHeldByCurrentThread));
        Assert.Equal(Errno.None, resv.Unlock());
        Assert.False(resv.IsLocked);
        Assert.Empty(m.Host.Violations);
    }

    [Fact]
    public void Lock_AlreadyHeldByThisThread_ReturnsEdeadlkInsteadOfHanging_AndIsRecorded()
    {
        using var m = new DmaBufMachine();
        var resv = new DmaResv(m.Host);
        Assert.Equal(Errno.None, resv.Lock());

        Assert.Equal(Errno.EDEADLK, resv.Lock());

        DmaBufViolation violation = Assert.Single(m.Host.Violations);
        Assert.Equal(DmaBufViolationKind.LockHeld, violation.Kind);
        Assert.Equal("dma_resv_lock", violation.Function);
        Assert.Contains(m.Host.KernelLog, l => l.StartsWith("WARNING: dma_resv_lock:", StringComparison.Ordinal));
        Assert.Equal(Errno.None, resv.Unlock());
        Assert.False(resv.IsLocked);
    }

    [Fact]
    public void Unlock_NotHeldByThisThread_ReturnsEnolck_AndTheHolderKeepsIt()
    {
        using var m = new DmaBufMachine();
        var resv = new DmaResv(m.Host);
        Assert.Equal(Errno.None, resv.Lock());

        OnThread(() => Assert.Equal(Errno.ENOLCK, resv.Unlock()));

        Assert.True(resv.IsHeldByCurrentThread);
        Assert.Equal(DmaBufViolationKind.UnlockNotOwner, Assert.Single(m.Host.Violations).Kind);
        Assert.Equal(Errno.None, resv.Unlock());
        Assert.Equal(Errno.ENOLCK, resv.Unlock());
    }

    [Fact]
    public void Lock_HeldByAnotherThread_WaitsUntilItIsReleased()
    {
        using var m = new DmaBufMachine();
        var resv = new DmaResv(m.Host);
        Assert.Equal(Errno.None, resv.Lock());
        bool released = false;
        bool sawReleased = false;
        var waiter = new Thread(() =>
        {
            Assert.Equal(Errno.None, resv.Lock());
            sawReleased = Volatile.Read(ref released);
            resv.Unlock();
        });
        waiter.Start();

        WaitUntilBlocked(waiter);
        Volatile.Write(ref released, true);
        resv.Unlock();
        waiter.Join();

        Assert.True(sawReleased);
        Assert.Empty(m.Host.Violations);
    }

    [Fact]
    public void Lock_WaitLongerThanLockTimeout_ReturnsEdeadlkAndRecordsTheDeadlock()
    {
        using var m = new DmaBufMachine();
        m.Host.LockTimeout = TimeSpan.FromMilliseconds(50);
        var resv = new DmaResv(m.Host);
        Assert.Equal(Errno.None, resv.Lock());

        Errno other = Errno.None;
        OnThread(() => other = resv.Lock());

        Assert.Equal(Errno.EDEADLK, other);
        Assert.Equal(DmaBufViolationKind.LockTimeout, Assert.Single(m.Host.Violations).Kind);
        Assert.True(resv.IsHeldByCurrentThread);
    }

    [Fact]
    public void TryLock_OnlySucceedsWhenFree()
    {
        using var m = new DmaBufMachine();
        var resv = new DmaResv(m.Host);

        Assert.True(resv.TryLock());
        OnThread(() => Assert.False(resv.TryLock()));
        Assert.False(resv.TryLock());
        Assert.Equal(Errno.None, resv.Unlock());
    }

    [Fact]
    public void Lock_SameAcquireContextTwice_ReturnsEalready_AsLinux()
    {
        using var m = new DmaBufMachine();
        var resv = new DmaResv(m.Host);
        var ctx = new WwAcquireCtx();
        Assert.Equal(Errno.None, resv.Lock(ctx));

        Assert.Equal(Errno.EALREADY, resv.Lock(ctx));

        Assert.Equal(1, ctx.Acquired);
        Assert.Empty(m.Host.Violations);
        resv.Unlock();
        ctx.Fini();
    }

    [Fact]
    public void Lock_YoungerContextHoldingLocks_GetsEdeadlkInsteadOfWaitingForAnOlderOne_ThenLockSlowWaits()
    {
        using var m = new DmaBufMachine();
        var first = new DmaResv(m.Host);
        var second = new DmaResv(m.Host);
        var older = new WwAcquireCtx();
        Assert.Equal(Errno.None, first.Lock(older));
        Errno backOff = Errno.None;
        bool olderReleased = false;
        bool sawRelease = false;
        var young = new Thread(() =>
        {
            var younger = new WwAcquireCtx();
            second.Lock(younger);
            backOff = first.Lock(younger);
            second.Unlock();
            Assert.Equal(Errno.None, first.LockSlow(younger));
            sawRelease = Volatile.Read(ref olderReleased);
            first.Unlock();
            younger.Fini();
        });
        young.Start();

        WaitUntilBlocked(young);
        Assert.Equal(Errno.EDEADLK, backOff);
        Assert.Equal(Errno.None, second.Lock(older));
        Volatile.Write(ref olderReleased, true);
        second.Unlock();
        first.Unlock();
        young.Join();

        Assert.True(sawRelease);
        Assert.Empty(m.Host.Violations);
        older.Fini();
    }

    [Fact]
    public void Lock_ContextOfAnotherThread_Throws()
    {
        using var m = new DmaBufMachine();
        var resv = new DmaResv(m.Host);
        var ctx = new WwAcquireCtx();

        OnThread(() => Assert.Throws<InvalidOperationException>(() => resv.Lock(ctx)));
    }

    [Fact]
    public void AddFence_WithoutTheLock_ReturnsEnolckAndAddsNothing()
    {
        using var m = new DmaBufMachine();
        var resv = new DmaResv(m.Host);

        Assert.Equal(Errno.ENOLCK, resv.AddFence(new DmaFence(), DmaResvUsage.Write));

        Assert.Equal(0, resv.PendingFences);
        DmaBufViolation violation = Assert.Single(m.Host.Violations);
        Assert.Equal(("dma_resv_add_fence", DmaBufViolationKind.LockNotHeld), (violation.Function, violation.Kind));
    }

    [Fact]
    public void WaitTimeout_WaitsForFencesUpToTheUsageOnly()
    {
        using var m = new DmaBufMachine();
        var resv = new DmaResv(m.Host);
        var kernel = new DmaFence();
        var bookkeep = new DmaFence();
        resv.Lock();
        Assert.Equal(Errno.None, resv.AddFence(kernel, DmaResvUsage.Kernel));
        Assert.Equal(Errno.None, resv.AddFence(bookkeep, DmaResvUsage.Bookkeep));
        resv.Unlock();

        Assert.Equal(Errno.ETIMEDOUT, resv.WaitTimeout(DmaResvUsage.Kernel, false, TimeSpan.Zero));
        kernel.Signal();
        Assert.Equal(Errno.None, resv.WaitTimeout(DmaResvUsage.Read, false, TimeSpan.Zero));
        Assert.True(resv.TestSignaled(DmaResvUsage.Read));
        Assert.False(resv.TestSignaled(DmaResvUsage.Bookkeep));
        Assert.Equal(Errno.ETIMEDOUT, resv.WaitTimeout(DmaResvUsage.Bookkeep, false, TimeSpan.Zero));
        bookkeep.Signal();
        Assert.Equal(Errno.None, resv.WaitTimeout(DmaResvUsage.Bookkeep, false, TimeSpan.Zero));
        Assert.Equal(0, resv.PendingFences);
    }

    [Fact]
    public void WaitTimeout_ReturnsWhenAnotherThreadSignals()
    {
        using var m = new DmaBufMachine();
        var resv = new DmaResv(m.Host);
        var fence = new DmaFence();
        resv.Lock();
        resv.AddFence(fence, DmaResvUsage.Write);
        resv.Unlock();
        var signaller = new Thread(() => fence.Signal());

        signaller.Start();
        Errno waited = resv.WaitTimeout(DmaResvUsage.Write, true, Timeout.InfiniteTimeSpan);
        signaller.Join();

        Assert.Equal(Errno.None, waited);
        Assert.True(fence.IsSignaled);
    }

    [Fact]
    public void DmaFence_SignalsOnce()
    {
        var fence = new DmaFence("f");

        Assert.False(fence.Wait(TimeSpan.Zero));
        Assert.True(fence.Signal());
        Assert.False(fence.Signal());
        Assert.True(fence.Wait(TimeSpan.Zero));
        Assert.True(new[] { new DmaFence(), new DmaFence() }.Select(f => f.Seqno).Distinct().Count() == 2);
    }
}
