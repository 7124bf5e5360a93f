using System;
using System.Collections.Generic;
using System.Linq;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using Xunit;

namespace P2pEmu.Dma.Tests.Block;

/// <summary>submit_bio without waiting: bi_end_io, bio_poll, static requests, bio_reset and plugging, against a scripted driver.</summary>
public sealed class AsyncBioTests
{
    private static Bio HostBio(P2pDmaHost p2p, uint bytes, ulong sector = 0)
    {
        var bio = new Bio(p2p, ReqOp.Read, sector);
        bio.BioAddPage(new PhysAddress(0x10_0000), bytes, 0);
        return bio;
    }

    [Fact]
    public void SubmitBio_EndsTheBioOnce_WhenItsLastRequestCompletes_WithTheFirstError()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        var driver = new FakeBlkDriver { Statuses = { [8] = BlkStatus.IoErr } };
        var queue = new RequestQueue(new BlkMqTagSet(driver, 1, 8, 10), new QueueLimits { MaxHwSectors = 8 }, p2p);
        Bio bio = HostBio(p2p, 3 * 4096);
        var ended = new List<BlkStatus>();
        bio.EndIo = b => ended.Add(b.Status);

        queue.SubmitBio(bio);

        Assert.Equal(3, driver.Queued.Count);
        Assert.False(bio.IsDone);
        Assert.Empty(ended);
        Assert.Equal(3, queue.BioPoll(bio));
        Assert.True(bio.IsDone);
        Assert.Equal(new[] { BlkStatus.IoErr }, ended);
        Assert.Equal(BlkStatus.IoErr, bio.Status);
        Assert.Equal(0, queue.TagSet.HwQueues[0].InFlight);
    }

    [Fact]
    public void StaticRequests_AreTakenLowestTagFirst_AndReusedWithTheirDriverData()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        var driver = new FakeBlkDriver();
        var queue = new RequestQueue(new BlkMqTagSet(driver, 1, 4, 10), new QueueLimits(), p2p);
        Bio first = HostBio(p2p, 4096);
        Bio second = HostBio(p2p, 4096, 8);

        queue.SubmitBio(first);
        queue.SubmitBio(second);
        Request a = driver.Queued[0];
        Request b = driver.Queued[1];
        a.Pdu = "driver data";
        Assert.Equal((0, 1), (a.Tag, b.Tag));
        Assert.Same(first, a.Bio);
        queue.BioPoll(first);

        second.Reset(ReqOp.Write, 16);
        Assert.Throws<InvalidOperationException>(() => queue.SubmitBio(first)); // ended, not reset
        first.Reset(ReqOp.Write, 24);
        first.BioAddPage(new PhysAddress(0x20_0000), 4096, 0);
        queue.SubmitBio(first);

        Request again = driver.Queued[2];
        Assert.Same(a, again);
        Assert.Equal("driver data", again.Pdu);
        Assert.Equal((ReqOp.Write, 24UL, 0x20_0000UL), (again.Op, again.Sector, again.Segments[0].Phys));
        Assert.False(again.IsComplete);
    }

    [Fact]
    public void ABioInFlight_CannotBeResetOrSubmittedAgain()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        var queue = new RequestQueue(new BlkMqTagSet(new FakeBlkDriver(), 1, 4, 10), new QueueLimits(), p2p);
        Bio bio = HostBio(p2p, 4096);

        queue.SubmitBio(bio);

        Assert.Throws<InvalidOperationException>(() => bio.Reset(ReqOp.Read, 0));
        Assert.Throws<InvalidOperationException>(() => queue.SubmitBio(bio));
    }

    [Fact]
    public void ADyingQueue_OrABioTheLimitsCannotSplit_EndsTheBioAtOnce()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        var driver = new FakeBlkDriver();
        var queue = new RequestQueue(new BlkMqTagSet(driver, 1, 4, 10), new QueueLimits { LogicalBlockSize = 4096 }, p2p);
        Bio partialBlock = HostBio(p2p, 512);
        int ends = 0;
        partialBlock.EndIo = _ => ends++;

        queue.SubmitBio(partialBlock);
        queue.MarkDying();
        Bio late = HostBio(p2p, 4096);
        queue.SubmitBio(late);

        Assert.Equal((1, BlkStatus.Inval), (ends, partialBlock.Status));
        Assert.Equal((true, BlkStatus.IoErr), (late.IsDone, late.Status));
        Assert.Empty(driver.Queued);
    }

    [Fact]
    public void BioWait_AfterTheTimeoutPolls_RunsTheDriversTimeout_ThenEndsTheBioWithTimeOut()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        var driver = new FakeBlkDriver { CompleteOnPoll = false };
        var queue = new RequestQueue(new BlkMqTagSet(driver, 2, 4, 25), new QueueLimits { MaxHwSectors = 8 }, p2p);
        Bio bio = HostBio(p2p, 2 * 4096);

        queue.SubmitBio(bio);

        Assert.Equal(BlkStatus.TimeOut, queue.BioWait(bio));
        Assert.Equal(2, driver.Timeouts);
        Assert.Equal(25 * 2, driver.Polls); // its requests went to both hardware queues, so both are polled
        Assert.All(queue.TagSet.HwQueues, h => Assert.Equal(0, h.InFlight));
    }

    [Fact]
    public void APlug_HoldsTheRequests_ThenHandsEachQueuesBatchOverWithLastOnItsFinalRequest()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        var driver = new FakeBlkDriver();
        var queue = new RequestQueue(new BlkMqTagSet(driver, 2, 8, 10), new QueueLimits(), p2p);
        Bio[] bios = Enumerable.Range(0, 5).Select(i => HostBio(p2p, 4096, (ulong)i * 8)).ToArray();
        var plug = new BlkPlug();

        plug.Start();
        foreach (Bio bio in bios)
        {
            queue.SubmitBio(bio);
        }

        Assert.Same(plug, BlkPlug.Current);
        Assert.Equal(5, plug.Count);
        Assert.Empty(driver.Queued);
        plug.Finish();

        Assert.Null(BlkPlug.Current);
        Assert.Equal(new ulong[] { 0, 16, 32, 8, 24 }, driver.Queued.Select(r => r.Sector)); // queue 0's, then queue 1's
        Assert.Equal(new[] { false, false, true, false, true }, driver.Last);
        Assert.Equal(0, driver.Commits);
    }

    [Fact]
    public void ARefusalInsideAPluggedBatch_CommitsWhatTheDriverTookBeforeIt()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        var driver = new FakeBlkDriver { Refuse = { [16] = BlkStatus.Inval } };
        var queue = new RequestQueue(new BlkMqTagSet(driver, 1, 8, 10), new QueueLimits(), p2p);
        Bio[] bios = Enumerable.Range(0, 3).Select(i => HostBio(p2p, 4096, (ulong)i * 8)).ToArray();
        SubmitPlugged(queue, bios);

        Assert.Equal(1, driver.Commits);
        Assert.Equal((true, BlkStatus.Inval), (bios[2].IsDone, bios[2].Status));
        Assert.Equal(2, queue.BioPoll(bios[0]));
        Assert.All(bios, b => Assert.True(b.IsDone));
    }

    [Fact]
    public void APluggedBatch_GoesToQueueRqsPerHardwareQueue_AndWhatItLeavesToQueueRqWithLastOnTheFinalOne()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        var driver = new FakeBlkDriver { TakesBatches = true, LeftByBatch = { 16, 32 } };
        var queue = new RequestQueue(new BlkMqTagSet(driver, 2, 8, 10), new QueueLimits(), p2p);
        Bio[] bios = Enumerable.Range(0, 5).Select(i => HostBio(p2p, 4096, (ulong)i * 8)).ToArray();
        SubmitPlugged(queue, bios);

        // Queue 0 got sectors 0, 16, 32 and queue 1 got 8, 24 (round robin); the batch left 16 and 32 to queue_rq.
        Assert.Equal(new[] { new ulong[] { 0, 16, 32 }, new ulong[] { 8, 24 } }, driver.Batches);
        Assert.Equal(new ulong[] { 0, 8, 24 }, driver.TakenInBatches.Select(r => r.Sector));
        Assert.Equal(new ulong[] { 16, 32 }, driver.Queued.Select(r => r.Sector));
        Assert.Equal(new[] { false, true }, driver.Last);
        Assert.Equal(new long[] { 3, 2 }, queue.TagSet.HwQueues.Select(h => h.Dispatched));
        Assert.Equal(5, queue.BioPoll(bios[0]) + queue.BioPoll(bios[1]));
        Assert.All(bios, b => Assert.Equal((true, BlkStatus.Ok), (b.IsDone, b.Status)));
    }

    [Fact]
    public void ADriverWithoutQueueRqs_GetsEveryRequestThroughQueueRq()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        var driver = new FakeBlkDriver();
        var queue = new RequestQueue(new BlkMqTagSet(driver, 1, 8, 10), new QueueLimits(), p2p);
        var plug = new BlkPlug();

        plug.Start();
        queue.SubmitBio(HostBio(p2p, 4096, 0));
        queue.SubmitBio(HostBio(p2p, 4096, 8));
        plug.Finish();

        Assert.Empty(driver.Batches);
        Assert.Equal(new ulong[] { 0, 8 }, driver.Queued.Select(r => r.Sector));
    }

    [Fact]
    public void ANestedPlug_DoesNothing_AndWaitingFlushesThePlug()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        var driver = new FakeBlkDriver();
        var queue = new RequestQueue(new BlkMqTagSet(driver, 1, 8, 10), new QueueLimits(), p2p);
        var outer = new BlkPlug();
        var inner = new BlkPlug();
        Bio bio = HostBio(p2p, 4096);

        outer.Start();
        inner.Start();
        queue.SubmitBio(bio);
        inner.Finish();

        Assert.Same(outer, BlkPlug.Current);
        Assert.Empty(driver.Queued);
        Assert.Equal(BlkStatus.Ok, queue.BioWait(bio));
        Assert.Single(driver.Queued);
        outer.Finish();
    }

    /// <summary>Submits every bio under one plug and finishes it (<c>blk_start_plug</c> … <c>blk_finish_plug</c>).</summary>
    private static void SubmitPlugged(RequestQueue queue, Bio[] bios)
    {
        var plug = new BlkPlug();
        plug.Start();
        foreach (Bio bio in bios)
        {
            queue.SubmitBio(bio);
        }

        plug.Finish();
    }
}
