using System;
using System.Diagnostics;
using System.Threading;
using P2pEmu.Dma.Mapping;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Iommu.Hardware;
using P2pEmu.Iommu.IovaAllocator;
using Xunit;

namespace P2pEmu.Dma.Tests.Mapping;

/// <summary>
/// Lazy IOTLB invalidation (Linux's flush queue, <c>iommu.strict=0</c>, the x86 default) against strict mode, checked
/// by real DMA: what a device can still reach after <c>dma_unmap_phys</c>, and when the IOVA comes back.
/// </summary>
public sealed class DmaIommuFlushQueueTests
{
    private const ulong Page = 4096;

    [Fact]
    public void LazyUnmap_AStaleIotlbEntryStillTranslates_UntilTheBatchFlush_ThenTheDmaFaults()
    {
        using Machine.Machine machine = DmaIommuTests.Build();
        DmaDevice dev = machine.Dma.GetDevice(machine.Fabric["a"]);
        DmaIommuCookie cookie = dev.IommuCookie!;
        cookie.FlushQueueTimeout = Timeout.InfiniteTimeSpan;
        ulong phys = machine.Pages.AllocPage().Value;
        var port = new DmaPort(machine.Fabric, machine.Fabric["a"]);
        DmaAddress iova = machine.Dma.DmaMapPhys(dev, new PhysAddress(phys), Page, DmaDirection.FromDevice);
        Assert.True(port.Write(iova, new byte[] { 1 }).IsSuccess); // the IOTLB now holds the translation

        machine.Dma.DmaUnmapPhys(dev, iova, Page, DmaDirection.FromDevice);

        Assert.Equal(0UL, dev.IommuDomain!.IovaToPhys(new Iova(iova.Value))); // the page table no longer maps it
        Assert.Equal(1, cookie.FlushQueueDepth);
        Assert.True(port.Write(iova, new byte[] { 2 }).IsSuccess); // but the device still reaches the page
        Assert.Equal(2, ReadRam(machine, phys));
        DmaAddress next = machine.Dma.DmaMapPhys(dev, new PhysAddress(phys), Page, DmaDirection.FromDevice);
        Assert.NotEqual(iova, next); // the queued IOVA is not handed out again before the flush
        machine.Dma.DmaUnmapPhys(dev, next, Page, DmaDirection.FromDevice);

        cookie.FlushQueues();

        Assert.Equal(0, cookie.FlushQueueDepth);
        Assert.Equal(1, cookie.FlushQueueFlushFinishCount);
        Assert.Equal(RouteStatus.IommuFault, port.Write(iova, new byte[] { 3 }).Status);
        Assert.Equal(2, ReadRam(machine, phys));
    }

    [Fact]
    public void StrictUnmap_TheSameSequence_FaultsAtOnce_AndQueuesNothing()
    {
        using Machine.Machine machine = DmaIommuTests.Build(iommuStrict: true);
        DmaDevice dev = machine.Dma.GetDevice(machine.Fabric["a"]);
        ulong phys = machine.Pages.AllocPage().Value;
        var port = new DmaPort(machine.Fabric, machine.Fabric["a"]);
        DmaAddress iova = machine.Dma.DmaMapPhys(dev, new PhysAddress(phys), Page, DmaDirection.FromDevice);
        Assert.True(port.Write(iova, new byte[] { 1 }).IsSuccess);

        machine.Dma.DmaUnmapPhys(dev, iova, Page, DmaDirection.FromDevice);

        Assert.Null(dev.IommuCookie!.FlushQueueDomain);
        Assert.Equal(RouteStatus.IommuFault, port.Write(iova, new byte[] { 2 }).Status);
        Assert.Equal(1, ReadRam(machine, phys));
    }

    [Fact]
    public void LazyUnmap_AFullQueue_FlushesTheIotlbOnce_AndFreesWhatTheFlushCovered()
    {
        using Machine.Machine machine = DmaIommuTests.Build();
        DmaDevice dev = machine.Dma.GetDevice(machine.Fabric["a"]);
        DmaIommuCookie cookie = dev.IommuCookie!;
        cookie.FlushQueueTimeout = Timeout.InfiniteTimeSpan;
        ulong phys = machine.Pages.AllocPage().Value;
        IoTlb iotlb = machine.Iommus[0].IoTlb;
        int usable = DmaIommuCookie.DefaultFlushQueueSize - 1;

        // Every unmap of one thread goes to the same CPU's queue; the queue holds one range fewer than its size.
        var thread = new Thread(() =>
        {
            for (int i = 0; i < usable; i++)
            {
                DmaAddress iova = machine.Dma.DmaMapPhys(dev, new PhysAddress(phys), Page, DmaDirection.FromDevice);
                machine.Dma.DmaUnmapPhys(dev, iova, Page, DmaDirection.FromDevice);
            }

            Assert.Equal(0, cookie.FlushQueueFlushStartCount);
            Assert.Equal(usable, cookie.FlushQueueDepth);
            long invalidations = iotlb.Invalidations;

            DmaAddress last = machine.Dma.DmaMapPhys(dev, new PhysAddress(phys), Page, DmaDirection.FromDevice);
            machine.Dma.DmaUnmapPhys(dev, last, Page, DmaDirection.FromDevice);

            Assert.Equal(1, cookie.FlushQueueFlushFinishCount);
            Assert.Equal(invalidations + 1, iotlb.Invalidations); // one domain-wide flush for 256 unmaps
            Assert.Equal(1, cookie.FlushQueueDepth); // the flush freed the 255 before it; the last one waits
        });
        thread.Start();
        thread.Join();
    }

    [Fact]
    public void LazyUnmap_TheTimerFlushes_SoALateDmaFaultsSoonAfter()
    {
        using Machine.Machine machine = DmaIommuTests.Build();
        DmaDevice dev = machine.Dma.GetDevice(machine.Fabric["a"]);
        DmaIommuCookie cookie = dev.IommuCookie!;
        Assert.Equal(Timeout.InfiniteTimeSpan, cookie.FlushQueueTimeout); // a deterministic machine's queues have no timer
        cookie.FlushQueueTimeout = DmaIommuCookie.DefaultFlushQueueTimeout; // Linux's 10 ms
        ulong phys = machine.Pages.AllocPage().Value;
        var port = new DmaPort(machine.Fabric, machine.Fabric["a"]);
        DmaAddress iova = machine.Dma.DmaMapPhys(dev, new PhysAddress(phys), Page, DmaDirection.FromDevice);
        Assert.True(port.Write(iova, new byte[] { 1 }).IsSuccess);

        machine.Dma.DmaUnmapPhys(dev, iova, Page, DmaDirection.FromDevice);

        var clock = Stopwatch.StartNew();
        while (cookie.FlushQueueFlushFinishCount == 0 && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            Thread.Sleep(1);
        }

        Assert.Equal(1, cookie.FlushQueueFlushFinishCount);
        Assert.Equal(0, cookie.FlushQueueDepth);
        Assert.Equal(RouteStatus.IommuFault, port.Write(iova, new byte[] { 2 }).Status);
    }

    [Fact]
    public void LazyUnmap_ALeafTableTheUnmapCovered_IsFreedOnlyAfterTheFlush()
    {
        using Machine.Machine machine = DmaIommuTests.Build();
        DmaDevice dev = machine.Dma.GetDevice(machine.Fabric["a"]);
        DmaIommuCookie cookie = dev.IommuCookie!;
        cookie.FlushQueueTimeout = Timeout.InfiniteTimeSpan;

        // 2 MiB of RAM one page past a 2 MiB boundary: mapped as 512 small pages, which fill one leaf table exactly
        // (the IOVA of a 2 MiB map is 2 MiB aligned).
        const ulong Size = 2UL << 20;
        ulong block = machine.Pages.AllocPages(HostPageAllocator.OrderForBytes(2 * Size)).Value;
        DmaAddress iova = machine.Dma.DmaMapPhys(dev, new PhysAddress(block + Page), Size, DmaDirection.FromDevice);
        Assert.Equal(0UL, iova.Value % Size);
        long freeBefore = machine.Pages.FreePageCount;

        machine.Dma.DmaUnmapPhys(dev, iova, Size, DmaDirection.FromDevice);

        Assert.Equal(freeBefore, machine.Pages.FreePageCount); // unhooked, but the IOTLB may still point into it
        cookie.FlushQueues();
        Assert.Equal(freeBefore + 1, machine.Pages.FreePageCount);
    }

    [Fact]
    public void QueueIova_OfAnIovaThatIsNotAllocated_Throws()
    {
        using Machine.Machine machine = DmaIommuTests.Build();
        DmaIommuCookie cookie = machine.Dma.GetDevice(machine.Fabric["a"]).IommuCookie!;

        Assert.Throws<ArgumentException>(() => cookie.QueueIova(new Iova(0x7000_0000), Page, null, 0));
        Assert.Equal(0, cookie.FlushQueueDepth);
    }

    private static byte ReadRam(Machine.Machine machine, ulong phys)
    {
        machine.Fabric.TryFindRam(phys, out ulong offset, out _);
        return machine.Fabric.Ram.Region.GetSpan(offset, 1)[0];
    }
}
