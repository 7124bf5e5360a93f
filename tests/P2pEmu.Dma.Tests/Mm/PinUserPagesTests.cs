using System;
using P2pEmu.Dma.Mm;
using P2pEmu.Emulator.Host;
using Xunit;

namespace P2pEmu.Dma.Tests.Mm;

/// <summary><c>pin_user_pages</c> on host RAM (anonymous memory); P2P pages are in P2pmemAllocateMmapTests.</summary>
public sealed class PinUserPagesTests
{
    private const ulong Page = MmMachine.Page;

    [Fact]
    public void PinUserPages_AnonymousRange_FaultsInAndPinsEveryPage()
    {
        using var m = new MmMachine(provider: false);
        MmStruct mm = m.NewMm();
        ulong a = MmMachine.MapAnon(mm, 3 * Page);
        var pages = new Page[3];

        Result<int> pinned = mm.PinUserPages(a + 5, 3, FollFlags.Write, pages);

        Assert.Equal(3, pinned.Value);
        for (int i = 0; i < 3; i++)
        {
            Assert.Same(mm.FollowPte(a + ((ulong)i * Page)), pages[i]);
            Assert.Equal(2, pages[i].RefCount);
            Assert.Equal(1, pages[i].PinCount);
            Assert.True(pages[i].MaybeDmaPinned);
            Assert.False(pages[i].IsPciP2pdmaPage);
            Assert.Null(pages[i].Pgmap);
        }
    }

    [Fact]
    public void UnpinUserPages_DropsThePinsOnly()
    {
        using var m = new MmMachine(provider: false);
        MmStruct mm = m.NewMm();
        ulong a = MmMachine.MapAnon(mm, 2 * Page);
        var pages = new Page[2];
        mm.PinUserPages(a, 2, FollFlags.None, pages);

        Gup.UnpinUserPages(pages);

        Assert.All(pages, p => Assert.Equal((1, 0, false), (p.RefCount, p.PinCount, p.IsFreed)));
        Assert.Throws<InvalidOperationException>(() => Gup.UnpinUserPage(pages[0]));
    }

    [Fact]
    public void Munmap_OfPinnedPage_KeepsItAllocatedUntilUnpinned()
    {
        using var m = new MmMachine(provider: false);
        MmStruct mm = m.NewMm();
        long free = m.Pages.FreePageCount;
        ulong a = MmMachine.MapAnon(mm, Page);
        var pages = new Page[1];
        mm.PinUserPages(a, 1, FollFlags.Write, pages);

        mm.Munmap(a, Page);

        Assert.False(pages[0].IsFreed);
        Assert.Equal(free - 1, m.Pages.FreePageCount);
        Gup.UnpinUserPage(pages[0]);
        Assert.True(pages[0].IsFreed);
        Assert.Equal(free, m.Pages.FreePageCount);
    }

    [Theory]
    [InlineData(FollFlags.Pin)]
    [InlineData(FollFlags.Touch)]
    [InlineData(FollFlags.Remote)]
    [InlineData(FollFlags.FastOnly)]
    [InlineData(FollFlags.Unlockable)]
    [InlineData(FollFlags.Tried)]
    [InlineData(FollFlags.MadvPopulate)]
    [InlineData(FollFlags.Get)]
    [InlineData(FollFlags.Longterm | FollFlags.PciP2pdma)]
    public void PinUserPages_InvalidFlags_IsEinvalAndPinsNothing(FollFlags flags)
    {
        using var m = new MmMachine(provider: false);
        MmStruct mm = m.NewMm();
        ulong a = MmMachine.MapAnon(mm, Page, extra: MapFlags.Populate);
        var pages = new Page[1];

        Assert.Equal(Errno.EINVAL, mm.PinUserPages(a, 1, flags, pages).Error);

        Assert.Equal(0, mm.FollowPte(a)!.PinCount);
    }

    [Fact]
    public void PinUserPages_LongtermOnHostMemory_IsAllowed()
    {
        using var m = new MmMachine(provider: false);
        MmStruct mm = m.NewMm();
        ulong a = MmMachine.MapAnon(mm, Page);
        var pages = new Page[1];

        Assert.Equal(1, mm.PinUserPages(a, 1, FollFlags.Longterm | FollFlags.Write, pages).Value);
    }

    [Theory]
    [InlineData(FollFlags.Longterm, FollFlags.None, false)] // FOLL_LONGTERM only when pinning
    [InlineData(FollFlags.Longterm, FollFlags.Pin, true)]
    [InlineData(FollFlags.Get, FollFlags.Pin, false)]       // GET and PIN exclude each other
    [InlineData(FollFlags.Get, FollFlags.None, true)]
    [InlineData(FollFlags.Longterm | FollFlags.PciP2pdma, FollFlags.Pin, false)]
    [InlineData(FollFlags.PciP2pdma | FollFlags.Write, FollFlags.Pin, true)]
    [InlineData(FollFlags.Pin, FollFlags.Pin, false)]       // internal flag from the caller
    public void IsValidGupArgs_FollowsTheKernelsRules(FollFlags flags, FollFlags toSet, bool valid)
    {
        FollFlags updated = flags;

        Assert.Equal(valid, Gup.IsValidGupArgs(ref updated, toSet));

        Assert.Equal(valid ? flags | toSet : flags, updated);
    }

    [Fact]
    public void PinUserPages_Unmapped_IsEfault()
    {
        using var m = new MmMachine(provider: false);
        var pages = new Page[1];

        Assert.Equal(Errno.EFAULT, m.NewMm().PinUserPages(0x1000_0000, 1, FollFlags.None, pages).Error);
    }

    [Fact]
    public void PinUserPages_WriteToReadOnly_IsEfault_ButForceOnAPrivateMappingIsAllowed()
    {
        using var m = new MmMachine(provider: false);
        MmStruct mm = m.NewMm();
        ulong privateRo = mm.Mmap(0, Page, Prot.Read, MapFlags.Private | MapFlags.Anonymous).Value;
        ulong sharedRo = mm.Mmap(0, Page, Prot.Read, MapFlags.Shared | MapFlags.Anonymous).Value;
        var pages = new Page[1];

        Assert.Equal(Errno.EFAULT, mm.PinUserPages(privateRo, 1, FollFlags.Write, pages).Error);
        Assert.Equal(1, mm.PinUserPages(privateRo, 1, FollFlags.Write | FollFlags.Force, pages).Value);
        Assert.Equal(Errno.EFAULT, mm.PinUserPages(sharedRo, 1, FollFlags.Write | FollFlags.Force, pages).Error);
        Assert.Equal(1, mm.PinUserPages(sharedRo, 1, FollFlags.None, pages).Value);
    }

    [Fact]
    public void PinUserPages_ReadOfProtNone_IsEfault()
    {
        using var m = new MmMachine(provider: false);
        MmStruct mm = m.NewMm();
        ulong none = mm.Mmap(0, Page, Prot.None, MapFlags.Private | MapFlags.Anonymous).Value;

        Assert.Equal(Errno.EFAULT, mm.PinUserPages(none, 1, FollFlags.None, new Page[1]).Error);
    }

    [Fact]
    public void PinUserPages_NoFaultOnAbsentPage_IsEfault_PresentPageIsPinned()
    {
        using var m = new MmMachine(provider: false);
        MmStruct mm = m.NewMm();
        ulong a = MmMachine.MapAnon(mm, 2 * Page);
        mm.WriteUser(a, new byte[] { 1 });
        var pages = new Page[2];

        Result<int> pinned = mm.PinUserPages(a, 2, FollFlags.NoFault, pages);

        Assert.Equal(1, pinned.Value); // the second page was never touched
        Assert.Equal(Errno.EFAULT, mm.PinUserPages(a + Page, 1, FollFlags.NoFault, pages).Error);
    }

    [Fact]
    public void PinUserPages_RangeRunningIntoAHole_ReturnsThePagesBeforeIt_ThenTheError()
    {
        using var m = new MmMachine(provider: false);
        MmStruct mm = m.NewMm();
        ulong a = MmMachine.MapAnon(mm, 2 * Page);
        var pages = new Page[3];

        Assert.Equal(2, mm.PinUserPages(a, 3, FollFlags.Write, pages).Value);
        Assert.Equal(Errno.EFAULT, mm.PinUserPages(a + (2 * Page), 1, FollFlags.Write, pages).Error);
        Assert.Equal(1, pages[1].PinCount);
    }

    [Fact]
    public void PinUserPages_OutOfMemory_IsEnomem()
    {
        using var m = new MmMachine(provider: false);
        MmStruct mm = m.NewMm();
        ulong a = MmMachine.MapAnon(mm, 2 * Page);
        var hog = new System.Collections.Generic.List<ulong>();
        while (m.Pages.AllocPage() is { IsSuccess: true } page)
        {
            hog.Add(page.Value);
        }

        Assert.Equal(Errno.ENOMEM, mm.PinUserPages(a, 1, FollFlags.None, new Page[1]).Error);
    }

    [Fact]
    public void PinUserPages_RangeWrapsOrLeavesUserSpace_IsEoverflowOrEfault()
    {
        using var m = new MmMachine(provider: false);
        MmStruct mm = m.NewMm();
        var pages = new Page[2];

        Assert.Equal(Errno.EOVERFLOW, mm.PinUserPages(ulong.MaxValue - Page + 1, 2, FollFlags.None, pages).Error);
        Assert.Equal(Errno.EFAULT, mm.PinUserPages(MmStruct.TaskSize - Page, 2, FollFlags.None, pages).Error);
    }

    [Fact]
    public void PinUserPages_ZeroPages_ReturnsZero()
    {
        using var m = new MmMachine(provider: false);

        Assert.Equal(0, m.NewMm().PinUserPages(0x1000_0000, 0, FollFlags.None, Array.Empty<Page>()).Value);
    }

    [Fact]
    public void PinUserPages_ArrayTooShort_Throws()
    {
        using var m = new MmMachine(provider: false);

        Assert.Throws<ArgumentException>(() => m.NewMm().PinUserPages(0x1000_0000, 2, FollFlags.None, new Page[1]));
    }
}
