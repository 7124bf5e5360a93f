using System;
using System.Linq;
using P2pEmu.Dma.Mm;
using P2pEmu.Emulator.Host;
using Xunit;

namespace P2pEmu.Dma.Tests.Mm;

public sealed class MmStructMmapTests
{
    private const ulong Page = MmMachine.Page;
    private const MapFlags Anon = MapFlags.Private | MapFlags.Anonymous;
    private const Prot Rw = Prot.Read | Prot.Write;

    [Fact]
    public void Mmap_Anonymous_PlacesTopDownBelowMmapBaseAndRoundsToPages()
    {
        using var m = new MmMachine(provider: false);
        MmStruct mm = m.NewMm();

        ulong first = mm.Mmap(0, 100, Rw, Anon).Value;
        ulong second = mm.Mmap(0, 3 * Page, Rw, Anon).Value;

        Assert.Equal(MmStruct.MmapBase - Page, first);
        Assert.Equal(first - (3 * Page), second);
        VmAreaStruct vma = mm.FindVma(first)!;
        Assert.Equal(Page, vma.LengthBytes);
        Assert.True(vma.IsAnonymous);
        Assert.Equal(VmFlags.Read | VmFlags.Write | VmFlags.MayRead | VmFlags.MayWrite | VmFlags.MayExec, vma.Flags);
        Assert.Equal(new[] { second, first }, mm.Vmas.Select(v => v.Start));
        Assert.Equal(0, mm.PresentPteCount); // anonymous pages fault in on first use
    }

    [Fact]
    public void Mmap_FreeHint_IsUsed_BusyHintIsNot()
    {
        using var m = new MmMachine(provider: false);
        MmStruct mm = m.NewMm();
        const ulong Hint = 0x10_0000_0000;

        ulong a = mm.Mmap(Hint, Page, Rw, Anon).Value;
        ulong b = mm.Mmap(Hint, Page, Rw, Anon).Value;

        Assert.Equal(Hint, a);
        Assert.NotEqual(Hint, b);
    }

    [Fact]
    public void Mmap_SharedAnonymous_HasSharedAndMayShare()
    {
        using var m = new MmMachine(provider: false);
        MmStruct mm = m.NewMm();

        ulong a = mm.Mmap(0, Page, Prot.Read, MapFlags.Shared | MapFlags.Anonymous).Value;

        Assert.Equal(VmFlags.Read | VmFlags.Shared | VmFlags.MayShare | VmFlags.MayRead | VmFlags.MayWrite | VmFlags.MayExec, mm.FindVma(a)!.Flags);
    }

    [Theory]
    [InlineData(0UL, 0x1000UL, Anon, 0x800UL, Errno.EINVAL)] // unaligned offset, checked first
    [InlineData(0UL, 0UL, Anon, 0UL, Errno.EINVAL)]           // length 0
    [InlineData(0UL, ulong.MaxValue, Anon, 0UL, Errno.ENOMEM)] // rounding overflows
    [InlineData(0UL, 1UL << 47, Anon, 0UL, Errno.ENOMEM)]     // no room
    [InlineData(0x1_0000_0800UL, 0x1000UL, Anon | MapFlags.Fixed, 0UL, Errno.EINVAL)] // unaligned fixed
    [InlineData(0x8000UL, 0x1000UL, Anon | MapFlags.Fixed, 0UL, Errno.EPERM)]        // below mmap_min_addr
    [InlineData(0x7fff_ffff_f000UL, 0x2000UL, Anon | MapFlags.Fixed, 0UL, Errno.ENOMEM)] // past TASK_SIZE
    [InlineData(0UL, 0x1000UL, MapFlags.Anonymous, 0UL, Errno.EINVAL)] // neither shared nor private
    public void Mmap_BadArguments_FailWithTheKernelsErrno(ulong address, ulong length, MapFlags flags, ulong offset, Errno expected)
    {
        using var m = new MmMachine(provider: false);
        MmStruct mm = m.NewMm();

        Assert.Equal(expected, mm.Mmap(address, length, Rw, flags, null, offset).Error);

        Assert.Empty(mm.Vmas);
    }

    [Fact]
    public void Mmap_FileMappingWithoutFile_IsEbadf()
    {
        using var m = new MmMachine(provider: false);

        Assert.Equal(Errno.EBADF, m.NewMm().Mmap(0, Page, Rw, MapFlags.Shared).Error);
    }

    [Fact]
    public void Mmap_AnonymousWithFile_Throws()
    {
        using var m = new MmMachine();

        Assert.Throws<ArgumentException>(() => m.NewMm().Mmap(0, Page, Rw, Anon, m.Allocate));
    }

    [Fact]
    public void WriteUserThenReadUser_AnonymousMemory_RoundTripsThroughHostRam()
    {
        using var m = new MmMachine(provider: false);
        MmStruct mm = m.NewMm();
        ulong a = MmMachine.MapAnon(mm, 3 * Page);
        byte[] data = Enumerable.Range(0, 5000).Select(i => unchecked((byte)(i * 7))).ToArray();

        Assert.Equal(Errno.None, mm.WriteUser(a + 100, data));
        var back = new byte[data.Length];
        Assert.Equal(Errno.None, mm.ReadUser(a + 100, back));

        Assert.Equal(data, back);
        Assert.Equal(2, mm.PresentPteCount); // bytes 100..5099 touch two pages
        Page page = mm.FollowPte(a)!;
        var ram = new byte[16];
        m.Fabric.TryHostRead(page.Phys.Value + 100, ram);
        Assert.Equal(data.Take(16), ram);
        Assert.False(page.IsPciP2pdmaPage);
        Assert.Equal(1, page.RefCount);
    }

    [Fact]
    public void ReadUser_FreshAnonymousPage_IsZero()
    {
        using var m = new MmMachine(provider: false);
        MmStruct mm = m.NewMm();
        ulong a = MmMachine.MapAnon(mm, Page);
        var bytes = Enumerable.Repeat((byte)0xAA, 64).ToArray();

        Assert.Equal(Errno.None, mm.ReadUser(a, bytes));

        Assert.All(bytes, b => Assert.Equal(0, b));
    }

    [Fact]
    public void Access_WithoutVmaOrPermission_IsEfault()
    {
        using var m = new MmMachine(provider: false);
        MmStruct mm = m.NewMm();
        ulong ro = mm.Mmap(0, Page, Prot.Read, Anon).Value;
        ulong none = mm.Mmap(0, Page, Prot.None, Anon).Value;
        var buffer = new byte[8];

        Assert.Equal(Errno.EFAULT, mm.ReadUser(0x2000_0000, buffer));
        Assert.Equal(Errno.EFAULT, mm.WriteUser(ro, buffer));
        Assert.Equal(Errno.EFAULT, mm.ReadUser(none, buffer));
        Assert.Equal(Errno.None, mm.ReadUser(ro, buffer));
    }

    [Fact]
    public void Munmap_FreesAnonymousPagesBackToThePageAllocator()
    {
        using var m = new MmMachine(provider: false);
        MmStruct mm = m.NewMm();
        long free = m.Pages.FreePageCount;
        ulong a = MmMachine.MapAnon(mm, 4 * Page, extra: MapFlags.Populate);
        Assert.Equal(free - 4, m.Pages.FreePageCount);
        Page page = mm.FollowPte(a)!;

        Assert.Equal(Errno.None, mm.Munmap(a, 4 * Page));

        Assert.Equal(free, m.Pages.FreePageCount);
        Assert.True(page.IsFreed);
        Assert.Empty(mm.Vmas);
        Assert.Equal(0, mm.PresentPteCount);
    }

    [Fact]
    public void Munmap_Middle_SplitsTheVmaAndKeepsTheOuterPages()
    {
        using var m = new MmMachine(provider: false);
        MmStruct mm = m.NewMm();
        ulong a = MmMachine.MapAnon(mm, 4 * Page, extra: MapFlags.Populate);
        VmAreaStruct original = mm.FindVma(a)!;
        Page kept = mm.FollowPte(a + (3 * Page))!;

        Assert.Equal(Errno.None, mm.Munmap(a + Page, 2 * Page));

        Assert.True(original.IsDetached);
        Assert.Equal(new[] { (a, a + Page), (a + (3 * Page), a + (4 * Page)) }, mm.Vmas.Select(v => (v.Start, v.End)));
        Assert.Equal(2, mm.PresentPteCount);
        Assert.Same(kept, mm.FollowPte(a + (3 * Page)));
        Assert.Null(mm.FollowPte(a + Page));
        Assert.Equal(Errno.EFAULT, mm.ReadUser(a + Page, new byte[1]));
    }

    [Theory]
    [InlineData(0x1000_0800UL, 0x1000UL)]
    [InlineData(0x1000_0000UL, 0UL)]
    [InlineData(0x7fff_ffff_f000UL, 0x2000UL)]
    public void Munmap_BadRange_IsEinval(ulong address, ulong length)
    {
        using var m = new MmMachine(provider: false);

        Assert.Equal(Errno.EINVAL, m.NewMm().Munmap(address, length));
    }

    [Fact]
    public void Munmap_NothingMapped_Succeeds()
    {
        using var m = new MmMachine(provider: false);

        Assert.Equal(Errno.None, m.NewMm().Munmap(0x1000_0000, Page));
    }

    [Fact]
    public void MmapFixed_OverExistingMapping_ReplacesIt()
    {
        using var m = new MmMachine(provider: false);
        MmStruct mm = m.NewMm();
        ulong a = MmMachine.MapAnon(mm, 2 * Page, extra: MapFlags.Populate);
        Page old = mm.FollowPte(a)!;

        ulong b = mm.Mmap(a, Page, Prot.Read, Anon | MapFlags.Fixed).Value;

        Assert.Equal(a, b);
        Assert.True(old.IsFreed);
        Assert.Equal(VmFlags.Read, mm.FindVma(a)!.Flags & (VmFlags.Read | VmFlags.Write));
        Assert.Equal(2, mm.Vmas.Count);
    }

    [Fact]
    public void Dispose_UnmapsEverythingAndLaterCallsThrow()
    {
        using var m = new MmMachine(provider: false);
        MmStruct mm = m.NewMm();
        long free = m.Pages.FreePageCount;
        MmMachine.MapAnon(mm, 8 * Page, extra: MapFlags.Populate);

        mm.Dispose();
        mm.Dispose();

        Assert.Equal(free, m.Pages.FreePageCount);
        Assert.Throws<ObjectDisposedException>(() => mm.Mmap(0, Page, Rw, Anon));
    }

    [Fact]
    public void ZapPageRangeSingle_RemovesEntriesButKeepsTheVma_AndTheNextAccessFaultsAFreshPageIn()
    {
        using var m = new MmMachine(provider: false);
        MmStruct mm = m.NewMm();
        ulong a = MmMachine.MapAnon(mm, 2 * Page);
        mm.WriteUser(a, new byte[] { 1, 2, 3 });
        Page before = mm.FollowPte(a)!;

        mm.FindVma(a)!.ZapPageRangeSingle(a, Page);

        Assert.True(before.IsFreed);
        Assert.NotNull(mm.FindVma(a));
        var back = new byte[3];
        Assert.Equal(Errno.None, mm.ReadUser(a, back));
        Assert.Equal(new byte[3], back);
    }
}
