using System.Linq;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.Mm;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Dma.Tests.Mm;
using P2pEmu.Emulator.Host;
using Xunit;

namespace P2pEmu.Dma.Tests.Block;

/// <summary>O_DIRECT from user memory: pin_user_pages with FOLL_PCI_P2PDMA only when the queue advertises P2P (spec §4.2).</summary>
public sealed class UserDirectIoTests
{
    private const ulong Page = MmMachine.Page;

    private static (BlockDevice Disk, FakeBlkDriver Driver) Disk(MmMachine machine, bool p2pQueue)
    {
        var driver = new FakeBlkDriver();
        var limits = new QueueLimits { Features = p2pQueue ? BlkFeatures.PciP2pdma : BlkFeatures.None };
        var queue = new RequestQueue(new BlkMqTagSet(driver, 1, 16, 10), limits, machine.Host);
        var disk = new BlockDevice("vda", queue, 1 << 16, new Device("vda"));
        return (disk, driver);
    }

    [Fact]
    public void PreadDirect_IntoP2pPages_OnAQueueWithoutP2p_IsEremoteio_AndNothingStaysPinned()
    {
        using var machine = new MmMachine();
        (BlockDevice disk, FakeBlkDriver driver) = Disk(machine, p2pQueue: false);
        MmStruct mm = machine.NewMm();
        ulong buffer = MmMachine.MapAllocate(mm, machine.Allocate, 4 * Page);
        long references = machine.Pagemap.References;

        Result<long> read = disk.PreadDirect(mm, buffer, 4 * Page, 0);

        Assert.False(disk.DirectIoAllowsP2pdma);
        Assert.Equal(Errno.EREMOTEIO, read.Error);
        Assert.Empty(driver.Queued);
        Assert.Equal(references, machine.Pagemap.References);
    }

    [Fact]
    public void PreadDirect_IntoP2pPages_OnAP2pQueue_QueuesP2pRequests_AndUnpinsWhenDone()
    {
        using var machine = new MmMachine();
        (BlockDevice disk, FakeBlkDriver driver) = Disk(machine, p2pQueue: true);
        MmStruct mm = machine.NewMm();
        ulong buffer = MmMachine.MapAllocate(mm, machine.Allocate, 4 * Page);
        long references = machine.Pagemap.References;

        Result<long> read = disk.PreadDirect(mm, buffer, 4 * Page, 8192);

        Assert.Equal((long)(4 * Page), read.Value);
        Request request = Assert.Single(driver.Queued);
        Assert.True((request.Flags & ReqFlags.P2pdma) != 0);
        Assert.Equal(16UL, request.Sector);
        Assert.All(request.Segments, s => Assert.True(machine.Host.IsPciP2pdmaPage(s.Page.Value)));
        Assert.Equal(references, machine.Pagemap.References);
    }

    [Fact]
    public void PwriteDirect_FromHostThenP2pPages_NeverMixesThemInOneRequest()
    {
        using var machine = new MmMachine();
        (BlockDevice disk, FakeBlkDriver driver) = Disk(machine, p2pQueue: true);
        MmStruct mm = machine.NewMm();
        ulong host = MmMachine.MapAnon(mm, 2 * Page, 0x10_0000);
        ulong p2p = mm.Mmap(0x10_0000 + (2 * Page), 2 * Page, Prot.Read | Prot.Write, MapFlags.Shared | MapFlags.Fixed, machine.Allocate).Value;
        Assert.Equal(host + (2 * Page), p2p);

        Result<long> written = disk.PwriteDirect(mm, host, 4 * Page, 0);

        Assert.Equal((long)(4 * Page), written.Value);
        Assert.Equal(2, driver.Queued.Count);
        Assert.All(driver.Queued, r => Assert.Single(r.Segments.Select(s => machine.Host.IsPciP2pdmaPage(s.Page.Value)).Distinct()));
        Assert.Equal(new[] { false, true }, driver.Queued.Select(r => (r.Flags & ReqFlags.P2pdma) != 0));
    }

    [Theory]
    [InlineData(4096UL, 100L)]
    [InlineData(1000UL, 0L)]
    public void UnalignedPositionOrLength_IsEinval_BeforeAnythingIsPinned(ulong length, long position)
    {
        using var machine = new MmMachine();
        (BlockDevice disk, FakeBlkDriver driver) = Disk(machine, p2pQueue: true);
        MmStruct mm = machine.NewMm();
        ulong buffer = MmMachine.MapAllocate(mm, machine.Allocate, Page);
        long references = machine.Pagemap.References;

        Assert.Equal(Errno.EINVAL, disk.PreadDirect(mm, buffer, length, position).Error);
        Assert.Empty(driver.Queued);
        Assert.Equal(references, machine.Pagemap.References);
    }

    [Fact]
    public void PreadDirect_IntoAnUnmappedBuffer_IsEfault_AndAPartlyMappedOneReadsItsMappedPrefix()
    {
        using var machine = new MmMachine();
        (BlockDevice disk, FakeBlkDriver driver) = Disk(machine, p2pQueue: true);
        MmStruct mm = machine.NewMm();

        Assert.Equal(Errno.EFAULT, disk.PreadDirect(mm, 0x40_0000, Page, 0).Error);
        Assert.Empty(driver.Queued);

        ulong buffer = MmMachine.MapAnon(mm, 2 * Page, 0x50_0000);
        Result<long> partial = disk.PreadDirect(mm, buffer, 4 * Page, 0);

        Assert.Equal((long)(2 * Page), partial.Value);
        Assert.Equal(2 * Page, (ulong)driver.Queued.Sum(r => r.PayloadBytes));
    }
}
