using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using Xunit;

namespace P2pEmu.Dma.Tests.Block;

/// <summary>
/// Waiting on hardware queues of type Default: the driver's interrupt handler, on another thread, ends the requests, so
/// a waiter sleeps instead of polling; a poll queue is still polled.
/// </summary>
public sealed class InterruptCompletionTests
{
    private static Bio HostBio(P2pDmaHost p2p, uint bytes)
    {
        var bio = new Bio(p2p, ReqOp.Write, 0);
        bio.BioAddPage(new PhysAddress(0x10_0000), bytes, 0);
        return bio;
    }

    private static RequestQueue Queue(P2pDmaHost p2p, IBlkMqOps driver, HctxType type, int timeoutPolls, int hwQueues = 1)
    {
        var tagSet = new BlkMqTagSet(driver, hwQueues, 4, timeoutPolls);
        foreach (BlkMqHwCtx hctx in tagSet.HwQueues)
        {
            hctx.Type = type;
        }

        return new RequestQueue(tagSet, new QueueLimits { MaxHwSectors = 8 }, p2p);
    }

    [Fact]
    public void Wait_OnAnInterruptDrivenQueue_SleepsUntilTheHandlerEndsTheRequest_WithoutPolling()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        using var driver = new InterruptingDriver();
        RequestQueue queue = Queue(p2p, driver, HctxType.Default, 100_000);
        var inflight = new List<Request>();

        Assert.Equal(BlkStatus.Ok, queue.SubmitBio(HostBio(p2p, 3 * 4096), inflight));

        Assert.All(inflight, r => Assert.Equal(BlkStatus.Ok, queue.Wait(r)));
        Assert.Equal(0, driver.Polls);
        Assert.Equal(3, driver.Interrupted);
    }

    [Fact]
    public void BioWait_OnInterruptDrivenQueues_SleepsUntilTheHandlerEndsTheBio_WithoutPolling()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        using var driver = new InterruptingDriver();
        RequestQueue queue = Queue(p2p, driver, HctxType.Default, 100_000, hwQueues: 2);
        Bio bio = HostBio(p2p, 5 * 4096); // five 4 KiB requests, spread over both queues

        queue.SubmitBio(bio);

        Assert.Equal(BlkStatus.Ok, queue.BioWait(bio));
        Assert.True(bio.IsDone);
        Assert.Equal(0, driver.Polls);
        Assert.Equal(5, driver.Interrupted);
    }

    [Fact]
    public void BioWait_OnAPollQueue_Polls()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        using var driver = new InterruptingDriver { CompleteOnPollOnly = true };
        RequestQueue queue = Queue(p2p, driver, HctxType.Poll, 100_000);
        Bio bio = HostBio(p2p, 4096);

        queue.SubmitBio(bio);

        Assert.Equal(BlkStatus.Ok, queue.BioWait(bio));
        Assert.True(driver.Polls > 0);
        Assert.Equal(0, driver.Interrupted);
    }

    [Fact]
    public void NoInterruptEverComes_TheWaitEndsAfterTheTimeoutsWaits_WithTheDriversTimeout()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        using var driver = new InterruptingDriver { Silent = true };
        RequestQueue queue = Queue(p2p, driver, HctxType.Default, 5);
        var inflight = new List<Request>();
        queue.SubmitBio(HostBio(p2p, 4096), inflight);

        Assert.Equal(BlkStatus.TimeOut, queue.Wait(inflight[0]));

        Assert.Equal(1, driver.Timeouts);
        Assert.Equal(0, driver.Polls);
    }

    /// <summary>A driver whose "device" completes on a thread of its own and ends the requests from there, as an interrupt handler does.</summary>
    private sealed class InterruptingDriver : IBlkMqOps, IDisposable
    {
        private readonly BlockingCollection<Request> _submitted = new();
        private readonly ConcurrentQueue<Request> _pollable = new();
        private readonly Thread _device;
        private int _polls;
        private int _interrupted;
        private int _timeouts;

        public InterruptingDriver()
        {
            _device = new Thread(Run) { IsBackground = true };
            _device.Start();
        }

        /// <summary>Leaves the completions for a poller instead of ending them on the device's thread.</summary>
        public bool CompleteOnPollOnly { get; init; }

        /// <summary>Never completes anything.</summary>
        public bool Silent { get; init; }

        public int Polls => Volatile.Read(ref _polls);

        public int Interrupted => Volatile.Read(ref _interrupted);

        public int Timeouts => Volatile.Read(ref _timeouts);

        public BlkStatus QueueRq(BlkMqHwCtx hctx, Request request, bool last)
        {
            _submitted.Add(request);
            return BlkStatus.Ok;
        }

        public int Poll(BlkMqHwCtx hctx)
        {
            Interlocked.Increment(ref _polls);
            int found = 0;
            while (_pollable.TryDequeue(out Request? request))
            {
                RequestQueue.BlkMqEndRequest(request, BlkStatus.Ok);
                found++;
            }

            return found;
        }

        public void Timeout(Request request) => Interlocked.Increment(ref _timeouts);

        public void Dispose()
        {
            _submitted.CompleteAdding();
            _device.Join();
            _submitted.Dispose();
        }

        private void Run()
        {
            foreach (Request request in _submitted.GetConsumingEnumerable())
            {
                if (Silent)
                {
                    continue;
                }

                if (CompleteOnPollOnly)
                {
                    _pollable.Enqueue(request);
                    continue;
                }

                Thread.Yield();
                Interlocked.Increment(ref _interrupted);
                RequestQueue.BlkMqEndRequest(request, BlkStatus.Ok);
            }
        }
    }
}
