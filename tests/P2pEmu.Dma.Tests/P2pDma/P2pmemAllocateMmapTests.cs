using System;
using System.Linq;
using P2pEmu.Dma.Mm;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Dma.Tests.Mm;
using P2pEmu.Emulator.Host;
using Xunit;

namespace P2pEmu.Dma.Tests.P2pDma;

/// <summary>mmap of the sysfs <c>allocate</c> file (spec §4.4) and GUP of the P2P pages it maps (§4.1).</summary>
public sealed class P2pmemAllocateMmapTests
{
    private const ulong Page = MmMachine.Page;
    private const Prot Rw = Prot.Read | Prot.Write;

    [Fact]
    public void Mmap_Shared_MapsP2pPagesWithOneReferenceAndOnePagemapReferenceEach()
    {
        using var m = new MmMachine();
        MmStruct mm = m.NewMm();

        ulong a = MmMachine.MapAllocate(mm, m.Allocate, 3 * Page);

        VmAreaStruct vma = mm.FindVma(a)!;
        Assert.Equal(VmFlags.MixedMap, vma.Flags & VmFlags.MixedMap);
        Assert.Same(m.Allocate, vma.File);
        ulong barStart = m.ABar0.Address;
        for (int i = 0; i < 3; i++)
        {
            Page page = mm.FollowPte(a + ((ulong)i * Page))!;
            Assert.True(page.IsPciP2pdmaPage);
            Assert.Same(m.Pagemap, page.Pgmap);
            Assert.Equal(1, page.RefCount);
            Assert.Equal(barStart + ((ulong)i * Page), page.Phys.Value); // first fit from the start of the range
            Assert.True(m.Host.IsPciP2pdmaPage(page.Phys.Value));
        }

        Assert.Equal(3, m.Pagemap.References);
        Assert.Equal(MmMachine.PoolBytes - (3 * Page), m.Pool.AvailableBytes);
        Assert.Equal(3, m.Pool.Allocations);
        Assert.Equal(1, m.Allocate.Mapping.MapCount);
    }

    [Fact]
    public void WriteUser_ThroughTheMapping_LandsInTheBar()
    {
        using var m = new MmMachine();
        MmStruct mm = m.NewMm();
        ulong a = MmMachine.MapAllocate(mm, m.Allocate, 2 * Page);
        byte[] data = Enumerable.Range(0, 6000).Select(i => unchecked((byte)(i ^ 0x5A))).ToArray();

        Assert.Equal(Errno.None, mm.WriteUser(a + 10, data));

        Assert.Equal(data, m.ABar0.Memory!.GetSpan(10, data.Length).ToArray());
        var back = new byte[data.Length];
        Assert.Equal(Errno.None, mm.ReadUser(a + 10, back));
        Assert.Equal(data, back);
    }

    [Fact]
    public void Munmap_GivesEachPageBackAndDropsItsPagemapReference()
    {
        using var m = new MmMachine();
        MmStruct mm = m.NewMm();
        ulong a = MmMachine.MapAllocate(mm, m.Allocate, 4 * Page);
        Page second = mm.FollowPte(a + Page)!;

        Assert.Equal(Errno.None, mm.Munmap(a + Page, 2 * Page));

        Assert.True(second.IsFreed);
        Assert.Equal(2, m.Pagemap.References);
        Assert.Equal(MmMachine.PoolBytes - (2 * Page), m.Pool.AvailableBytes);
        Assert.Equal(2, m.Allocate.Mapping.MapCount); // the two remaining pieces
        MmStruct other = m.NewMm();
        ulong c = MmMachine.MapAllocate(other, m.Allocate, 2 * Page);
        Assert.Equal(m.ABar0.Address + Page, other.FollowPte(c)!.Phys.Value); // the hole is reused, first fit
    }

    [Fact]
    public void Mmap_Private_IsEinvalWithTheKernelsInfoLine()
    {
        using var m = new MmMachine();
        MmStruct mm = m.NewMm("fio");

        Assert.Equal(Errno.EINVAL, mm.Mmap(0, Page, Rw, MapFlags.Private, m.Allocate).Error);

        Assert.Contains($"pci {m.A.Address}: fio: fail, attempted private mapping", m.Host.KernelLog);
        Assert.Empty(mm.Vmas);
        Assert.Equal(0, m.Allocate.Mapping.MapCount);
        Assert.Equal(MmMachine.PoolBytes, m.Pool.AvailableBytes);
    }

    [Fact]
    public void Mmap_NonZeroOffset_IsEinvalWithTheKernelsInfoLine()
    {
        using var m = new MmMachine();
        MmStruct mm = m.NewMm("fio");

        Assert.Equal(Errno.EINVAL, mm.Mmap(0, Page, Rw, MapFlags.Shared, m.Allocate, Page).Error);

        Assert.Contains($"pci {m.A.Address}: fio: fail, attempted mapping with non-zero offset", m.Host.KernelLog);
        Assert.Equal(MmMachine.PoolBytes, m.Pool.AvailableBytes);
    }

    [Fact]
    public void Mmap_ReadOnlyShared_IsAllowed()
    {
        using var m = new MmMachine();
        MmStruct mm = m.NewMm();

        ulong a = mm.Mmap(0, Page, Prot.Read, MapFlags.Shared, m.Allocate).Value;

        Assert.Equal(Errno.EFAULT, mm.WriteUser(a, new byte[1]));
        Assert.Equal(Errno.None, mm.ReadUser(a, new byte[1]));
    }

    [Fact]
    public void Mmap_LargerThanWhatIsFree_IsEnomem()
    {
        using var m = new MmMachine();
        MmStruct mm = m.NewMm();
        MmMachine.MapAllocate(mm, m.Allocate, MmMachine.PoolBytes - Page);

        Assert.Equal(Errno.ENOMEM, mm.Mmap(0, 2 * Page, Rw, MapFlags.Shared, m.Allocate).Error);

        Assert.Single(mm.Vmas);
        Assert.Equal(1, m.Allocate.Mapping.MapCount);
        Assert.Equal(Page, m.Pool.AvailableBytes);
    }

    [Fact]
    public void Mmap_PagemapDying_IsEnodevAndTheMemoryGoesBack()
    {
        using var m = new MmMachine();
        m.Pagemap.Kill();

        Assert.Equal(Errno.ENODEV, m.NewMm().Mmap(0, Page, Rw, MapFlags.Shared, m.Allocate).Error);

        Assert.Equal(MmMachine.PoolBytes, m.Pool.AvailableBytes);
        Assert.Equal(0, m.Pool.Allocations);
        Assert.Equal(0, m.Pagemap.References);
    }

    [Fact]
    public void PinUserPages_P2pPageWithoutFlag_IsEremoteio()
    {
        using var m = new MmMachine();
        MmStruct mm = m.NewMm();
        ulong a = MmMachine.MapAllocate(mm, m.Allocate, Page);

        Assert.Equal(Errno.EREMOTEIO, mm.PinUserPages(a, 1, FollFlags.Write, new Page[1]).Error);

        Assert.Equal(0, mm.FollowPte(a)!.PinCount);
    }

    [Fact]
    public void PinUserPages_P2pPageWithLongterm_IsEinval()
    {
        using var m = new MmMachine();
        MmStruct mm = m.NewMm();
        ulong a = MmMachine.MapAllocate(mm, m.Allocate, Page);

        Assert.Equal(Errno.EINVAL, mm.PinUserPages(a, 1, FollFlags.Write | FollFlags.PciP2pdma | FollFlags.Longterm, new Page[1]).Error);
    }

    [Fact]
    public void PinUserPages_P2pPagesWithFlag_PinsThemAndTheyOutliveTheMapping()
    {
        using var m = new MmMachine();
        MmStruct mm = m.NewMm();
        ulong a = MmMachine.MapAllocate(mm, m.Allocate, 2 * Page);
        var pages = new Page[2];

        Assert.Equal(2, mm.PinUserPages(a, 2, FollFlags.Write | FollFlags.PciP2pdma, pages).Value);
        Assert.Equal(Errno.None, mm.Munmap(a, 2 * Page));

        Assert.All(pages, p => Assert.Equal((1, 1, false), (p.RefCount, p.PinCount, p.IsFreed)));
        Assert.Equal(2, m.Pagemap.References);
        Assert.Equal(MmMachine.PoolBytes - (2 * Page), m.Pool.AvailableBytes);
        Gup.UnpinUserPages(pages);
        Assert.Equal(0, m.Pagemap.References);
        Assert.Equal(MmMachine.PoolBytes, m.Pool.AvailableBytes);
        Assert.All(pages, p => Assert.True(p.IsFreed));
    }

    [Fact]
    public void PinUserPages_AnonymousThenP2p_WithoutFlag_PinsTheHostPagesThenStops()
    {
        using var m = new MmMachine();
        MmStruct mm = m.NewMm();
        ulong p2p = MmMachine.MapAllocate(mm, m.Allocate, Page);
        ulong anon = MmMachine.MapAnon(mm, 2 * Page, p2p - (2 * Page), MapFlags.Fixed);
        var pages = new Page[3];

        Assert.Equal(2, mm.PinUserPages(anon, 3, FollFlags.Write, pages).Value);
        Assert.Equal(Errno.EREMOTEIO, mm.PinUserPages(p2p, 1, FollFlags.Write, pages).Error);

        Assert.False(pages[1].IsPciP2pdmaPage);
    }

    [Fact]
    public void PinUserPages_AnonymousThenP2p_WithFlag_ReturnsBothKindsPerPage()
    {
        using var m = new MmMachine();
        MmStruct mm = m.NewMm();
        ulong p2p = MmMachine.MapAllocate(mm, m.Allocate, Page);
        ulong anon = MmMachine.MapAnon(mm, Page, p2p - Page, MapFlags.Fixed);
        var pages = new Page[2];

        Assert.Equal(2, mm.PinUserPages(anon, 2, FollFlags.Write | FollFlags.PciP2pdma, pages).Value);

        Assert.Equal(new[] { false, true }, pages.Select(p => p.IsPciP2pdmaPage));
        Assert.Equal(new P2pPagemap?[] { null, m.Pagemap }, pages.Select(p => p.Pgmap));
    }

    [Fact]
    public void ZoneDevicePagesHaveSamePgmap_TellsHostFromP2pAndOneProviderFromAnother()
    {
        using var m = new MmMachine();
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.Provider.B, 0, MmMachine.PoolBytes, 0));
        MmStruct mm = m.NewMm();
        ulong a1 = MmMachine.MapAllocate(mm, m.Allocate, 2 * Page);
        ulong b1 = MmMachine.MapAllocate(mm, m.Host.GetP2pmemSysfs(m.Provider.B)!.Allocate, Page);
        ulong h = MmMachine.MapAnon(mm, 2 * Page, extra: MapFlags.Populate);
        Page pa = mm.FollowPte(a1)!;
        Page pa2 = mm.FollowPte(a1 + Page)!;
        Page pb = mm.FollowPte(b1)!;
        Page ph = mm.FollowPte(h)!;
        Page ph2 = mm.FollowPte(h + Page)!;

        Assert.True(P2pEmu.Dma.Mm.Page.ZoneDevicePagesHaveSamePgmap(pa, pa2));
        Assert.True(P2pEmu.Dma.Mm.Page.ZoneDevicePagesHaveSamePgmap(ph, ph2));
        Assert.False(P2pEmu.Dma.Mm.Page.ZoneDevicePagesHaveSamePgmap(pa, pb));
        Assert.False(P2pEmu.Dma.Mm.Page.ZoneDevicePagesHaveSamePgmap(pa, ph));
        Assert.False(P2pEmu.Dma.Mm.Page.ZoneDevicePagesHaveSamePgmap(ph, pb));
    }

    [Fact]
    public void PinUserPages_FollAnonOnAllocateMapping_IsEfault()
    {
        using var m = new MmMachine();
        MmStruct mm = m.NewMm();
        ulong a = MmMachine.MapAllocate(mm, m.Allocate, Page);

        Assert.Equal(Errno.EFAULT, mm.PinUserPages(a, 1, FollFlags.PciP2pdma | FollFlags.Anon, new Page[1]).Error);
    }

    [Fact]
    public void TwoAddressSpaces_MapDisjointPagesAndTheFileSeesBoth()
    {
        using var m = new MmMachine();
        MmStruct one = m.NewMm();
        MmStruct two = m.NewMm();

        ulong a = MmMachine.MapAllocate(one, m.Allocate, Page);
        ulong b = MmMachine.MapAllocate(two, m.Allocate, Page);

        Assert.NotEqual(one.FollowPte(a)!.Phys, two.FollowPte(b)!.Phys);
        Assert.Equal(2, m.Allocate.Mapping.MapCount);
    }

    [Fact]
    public void ReadAttribute_Allocate_StillEio()
    {
        using var m = new MmMachine();

        Assert.Equal(Errno.EIO, m.Host.GetP2pmemSysfs(m.A)!.ReadAttribute("allocate").Error);
        Assert.Equal($"{m.A.Address}/p2pmem/allocate", m.Allocate.ToString());
        Assert.Equal(1UL << 40, P2pmemAllocateFile.NominalSizeBytes);
        Assert.Throws<ArgumentNullException>(() => m.Allocate.Mmap(null!));
    }
}
