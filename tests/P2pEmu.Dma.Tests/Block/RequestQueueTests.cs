using System.Collections.Generic;
using System.Linq;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using Xunit;

namespace P2pEmu.Dma.Tests.Block;

/// <summary>blk-mq dispatch and completion against a scripted driver.</summary>
public sealed class RequestQueueTests
{
    private static Bio HostBio(P2pDmaHost p2p, uint bytes)
    {
        var bio = new Bio(p2p, ReqOp.Write, 0);
        bio.BioAddPage(new PhysAddress(0x10_0000), bytes, 0);
        return bio;
    }

    [Fact]
    public void Dispatch_RotatesOverHardwareQueues_AndCompletionsFreeTheTags()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        var driver = new FakeBlkDriver { CompleteOnPoll = true };
        var queue = new RequestQueue(new BlkMqTagSet(driver, 3, 4, 10), new QueueLimits { MaxHwSectors = 8 }, p2p);
        var inflight = new List<Request>();

        Assert.Equal(BlkStatus.Ok, queue.SubmitBio(HostBio(p2p, 6 * 4096), inflight));

        Assert.Equal(6, inflight.Count);
        Assert.Equal(new long[] { 2, 2, 2 }, queue.TagSet.HwQueues.Select(h => h.Dispatched));
        Assert.All(inflight, r => Assert.Equal(BlkStatus.Ok, queue.Wait(r)));
        Assert.All(queue.TagSet.HwQueues, h => Assert.Equal(0, h.InFlight));
        Assert.Equal(inflight.Select(r => r.Sector), new ulong[] { 0, 8, 16, 24, 32, 40 });
    }

    [Fact]
    public void ResourceShortage_IsRetriedAfterAPoll_ThenSucceeds()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        var driver = new FakeBlkDriver { CompleteOnPoll = true, RefuseFirst = 2 };
        var queue = new RequestQueue(new BlkMqTagSet(driver, 1, 4, 10), new QueueLimits(), p2p);
        var inflight = new List<Request>();

        queue.SubmitBio(HostBio(p2p, 4096), inflight);

        Assert.Equal(BlkStatus.Ok, queue.Wait(Assert.Single(inflight)));
        Assert.Equal(3, queue.TagSet.HwQueues[0].Dispatched);
    }

    [Fact]
    public void NothingCompletes_TheDriversTimeoutRuns_ThenTheRequestEndsWithTimeOut()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        var driver = new FakeBlkDriver { CompleteOnPoll = false };
        var queue = new RequestQueue(new BlkMqTagSet(driver, 1, 4, 25), new QueueLimits(), p2p);
        var inflight = new List<Request>();
        queue.SubmitBio(HostBio(p2p, 4096), inflight);

        Assert.Equal(BlkStatus.TimeOut, queue.Wait(inflight[0]));

        Assert.Equal(25, driver.Polls);
        Assert.Equal(1, driver.Timeouts);
        Assert.Equal(0, queue.TagSet.HwQueues[0].InFlight);
    }

    [Fact]
    public void DriverRefusal_EndsTheRequestWithItsStatus_AndADyingQueueTakesNoBio()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        var driver = new FakeBlkDriver { Refusal = BlkStatus.Inval };
        var queue = new RequestQueue(new BlkMqTagSet(driver, 1, 4, 10), new QueueLimits(), p2p);
        var inflight = new List<Request>();
        queue.SubmitBio(HostBio(p2p, 4096), inflight);

        Assert.True(inflight[0].IsComplete);
        Assert.Equal(BlkStatus.Inval, queue.Wait(inflight[0]));
        Assert.Equal(0, driver.Polls);

        queue.MarkDying();
        Assert.Equal(BlkStatus.IoErr, queue.SubmitBio(HostBio(p2p, 4096), new List<Request>()));
    }
}
