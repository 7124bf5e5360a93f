using System;
using System.Collections.Generic;
using System.Linq;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using Xunit;

namespace P2pEmu.Dma.Tests.Block;

/// <summary>io_comp_batch: blk_mq_add_to_batch and blk_mq_end_request_batch, against a scripted driver that batches.</summary>
public sealed class IoCompBatchTests
{
    private const int Depth = 48;

    [Fact]
    public void BioPoll_WithABatch_EndsNothingUntilItCompletes_ThenEveryBioAndEveryTag()
    {
        using var t = new Testbed(new FakeBlkDriver { CompletesInBatches = true });
        List<Bio> bios = t.Submit(40);
        var ended = new List<Bio>();
        foreach (Bio bio in bios)
        {
            bio.EndIo = ended.Add;
        }

                Assert.Equal(40, t.Queue.BioPoll(bios[0], t.Iob));

        Assert.Equal(40, t.Iob.Requests.Count);
        Assert.DoesNotContain(bios, b => b.IsDone);
        Assert.Equal(40, t.Queue.TagSet.HwQueues[0].InFlight);

        t.Iob.CompleteBatch();

        Assert.Equal(new[] { 40 }, t.Driver.BatchesCompleted);
        Assert.Equal(bios, ended); // in completion order, each once
        Assert.All(bios, b => Assert.Equal(BlkStatus.Ok, b.Status));
        Assert.Equal(0, t.Queue.TagSet.HwQueues[0].InFlight);
        Assert.True(t.Iob.IsEmpty);
        Assert.Null(t.Iob.Complete);
        Assert.Equal(Depth, t.Submit(Depth).Count(b => !b.IsDone)); // every tag is free again
    }

    [Fact]
    public void AFailedRequest_IsNotBatched_AndEndsAtOnceWithItsStatus()
    {
        using var t = new Testbed(new FakeBlkDriver { CompletesInBatches = true, Statuses = { [8] = BlkStatus.IoErr } });
        List<Bio> bios = t.Submit(3);
        
        t.Queue.BioPoll(bios[0], t.Iob);

        Assert.True(bios[1].IsDone);
        Assert.Equal(BlkStatus.IoErr, bios[1].Status);
        Assert.False(bios[0].IsDone);
        Assert.Equal(2, t.Iob.Requests.Count);
        t.Iob.CompleteBatch();
        Assert.True(bios[0].IsDone && bios[2].IsDone);
    }

    [Fact]
    public void BioPoll_WithoutABatch_EndsEachRequestAtOnce()
    {
        using var t = new Testbed(new FakeBlkDriver { CompletesInBatches = true });
        List<Bio> bios = t.Submit(2);

        t.Queue.BioPoll(bios[0]);

        Assert.All(bios, b => Assert.True(b.IsDone));
        Assert.Empty(t.Driver.BatchesCompleted);
    }

    [Fact]
    public void BlkMqAddToBatch_RefusesNoBatch_AnError_AndAnotherCompletionRoutine()
    {
        using var t = new Testbed(new FakeBlkDriver());
        t.Submit(2);
        Request first = t.Driver.Queued[0];
        Request second = t.Driver.Queued[1];
        var other = new FakeBlkDriver();

        Assert.False(RequestQueue.BlkMqAddToBatch(first, null, false, t.Driver.CompleteBatch));
        Assert.False(RequestQueue.BlkMqAddToBatch(first, t.Iob, true, t.Driver.CompleteBatch));
        Assert.True(RequestQueue.BlkMqAddToBatch(first, t.Iob, false, t.Driver.CompleteBatch));
        Assert.False(RequestQueue.BlkMqAddToBatch(second, t.Iob, false, other.CompleteBatch));

        Assert.Equal(new[] { first }, t.Iob.Requests);
    }

    [Fact]
    public void ARequestInABatch_IsLeftToIt_ByATimeout_WithItsTag()
    {
        using var t = new Testbed(new FakeBlkDriver { CompletesInBatches = true });
        List<Bio> bios = t.Submit(2);
                t.Queue.BioPoll(bios[0], t.Iob);
        Request held = t.Iob.Requests[0];
        Assert.True(held.IsComplete);

        RequestQueue.BlkMqEndRequest(held, BlkStatus.TimeOut);
        t.Submit(1, firstSector: 1000);
        Request newcomer = t.Driver.Queued[^1];

        Assert.False(bios[0].IsDone);
        Assert.NotEqual(held.Tag, newcomer.Tag);
        Assert.Same(held, t.Queue.TagSet.HwQueues[0].TagToRq(held.Tag));
        t.Iob.CompleteBatch();
        Assert.Equal(BlkStatus.Ok, bios[0].Status);
        Assert.Null(t.Queue.TagSet.HwQueues[0].TagToRq(held.Tag));
        Assert.Same(newcomer, t.Queue.TagSet.HwQueues[0].TagToRq(newcomer.Tag));
    }

    [Fact]
    public void ABatchLargerThanTagCompBatch_ReleasesEveryTag()
    {
        using var t = new Testbed(new FakeBlkDriver { CompletesInBatches = true });
        List<Bio> bios = t.Submit(Depth);
                t.Queue.BioPoll(bios[0], t.Iob);
        Assert.True(t.Iob.Requests.Count > RequestQueue.TagCompBatch);

        t.Iob.CompleteBatch();

        Assert.All(bios, b => Assert.True(b.IsDone));
        BlkMqHwCtx hctx = t.Queue.TagSet.HwQueues[0];
        Assert.All(Enumerable.Range(0, Depth), t => Assert.Null(hctx.TagToRq(t)));
        Assert.Equal(0, hctx.InFlight);
    }

    /// <summary>A queue of <see cref="Depth"/> tags on one hardware queue, driven by a scripted driver, with the poller's batch.</summary>
    private sealed class Testbed : IDisposable
    {
        private readonly PcieFabric _fabric;
        private readonly P2pDmaHost _p2p;

        public Testbed(FakeBlkDriver driver)
        {
            (_fabric, _p2p) = BlockTestbed.Build();
            Driver = driver;
            Queue = new RequestQueue(new BlkMqTagSet(driver, 1, Depth, 10), new QueueLimits(), _p2p);
        }

        public FakeBlkDriver Driver { get; }

        public RequestQueue Queue { get; }

        public IoCompBatch Iob { get; } = new();

        /// <summary>One 4 KiB read per bio, at sectors 0, 8, 16, ... from <paramref name="firstSector"/>.</summary>
        public List<Bio> Submit(int count, ulong firstSector = 0)
        {
            var bios = new List<Bio>();
            for (int i = 0; i < count; i++)
            {
                var bio = new Bio(_p2p, ReqOp.Read, firstSector + ((ulong)i * 8));
                bio.BioAddPage(new PhysAddress(0x10_0000 + ((ulong)i * 4096)), 4096, 0);
                Queue.SubmitBio(bio);
                bios.Add(bio);
            }

            return bios;
        }

        public void Dispose() => _fabric.Dispose();
    }
}
