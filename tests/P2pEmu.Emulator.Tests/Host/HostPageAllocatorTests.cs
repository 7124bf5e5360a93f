using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Emulator.Tests.Host;

public sealed class HostPageAllocatorTests
{
    private const ulong Page = HostPageAllocator.PageSize;

    private static PcieFabric Build(ulong ramBytes) =>
        FabricBuilder.Build(Topo.Machine(Topo.HostBridge("hb0", Topo.RootPort("rp", Topo.Endpoint("a")))) with
        {
            Platform = PlatformDescription.Default with { RamBytes = ramBytes },
        });

    [Fact]
    public void New_CountsEveryPageButPageZeroAsFree()
    {
        using PcieFabric fabric = Build(64 * Topo.MiB);
        var pages = new HostPageAllocator(fabric);

        Assert.Equal((long)(64 * Topo.MiB / Page), pages.TotalPageCount);
        Assert.Equal(pages.TotalPageCount - 1, pages.FreePageCount);
    }

    [Fact]
    public void AllocPage_ReturnsZeroedAlignedRam_AndNeverPageZero()
    {
        using PcieFabric fabric = Build(64 * Page);
        var pages = new HostPageAllocator(fabric);
        fabric.Ram.Region.Fill(0, 64 * Page, 0xA5);

        var seen = new HashSet<ulong>();
        for (int i = 0; i < 63; i++)
        {
            Result<ulong> page = pages.AllocPage();
            Assert.True(page.IsSuccess, page.ToString());
            Assert.NotEqual(0UL, page.Value);
            Assert.Equal(0UL, page.Value % Page);
            Assert.True(seen.Add(page.Value));
            Assert.True(fabric.TryFindRam(page.Value, out ulong offset, out _));
            Assert.All(fabric.Ram.Region.GetSpan(offset, (int)Page).ToArray(), b => Assert.Equal(0, b));
        }

        Assert.Equal(0, pages.FreePageCount);
        Assert.Equal(Errno.ENOMEM, pages.AllocPage().Error);
        Assert.All(fabric.Ram.Region.GetSpan(0, (int)Page).ToArray(), b => Assert.Equal(0xA5, b));
    }

    [Fact]
    public void AllocPages_IsNaturallyAligned_AndComesFromTheTopOfRam()
    {
        using PcieFabric fabric = Build(64 * Topo.MiB);
        var pages = new HostPageAllocator(fabric);

        ulong block = pages.AllocPages(4).Value;
        ulong single = pages.AllocPage().Value;

        Assert.Equal(0UL, block % (16 * Page));
        Assert.Equal(64 * Topo.MiB - (16 * Page), block);
        Assert.Equal(block - Page, single);
        Assert.Equal(pages.TotalPageCount - 1 - 17, pages.FreePageCount);
    }

    [Fact]
    public void FreePages_MergesBuddies_SoTheLargestBlockIsAvailableAgain()
    {
        using PcieFabric fabric = Build(8 * Page);
        var pages = new HostPageAllocator(fabric);

        // Pages 4-7 form the only order-2 block (page 0 is reserved, so 0-3 never is).
        ulong[] singles = Enumerable.Range(0, 4).Select(_ => pages.AllocPage().Value).ToArray();
        Assert.Equal(Errno.ENOMEM, pages.AllocPages(2).Error);

        foreach (ulong page in singles)
        {
            pages.FreePage(page);
        }

        Assert.Equal(4 * Page, pages.AllocPages(2).Value);
        Assert.Equal(Errno.ENOMEM, pages.AllocPages(2).Error);
    }

    [Fact]
    public void FreePages_DoubleFreeOrWrongOrder_Throws()
    {
        using PcieFabric fabric = Build(64 * Page);
        var pages = new HostPageAllocator(fabric);
        ulong block = pages.AllocPages(1).Value;

        Assert.Throws<ArgumentException>(() => pages.FreePages(block, 0));
        pages.FreePages(block, 1);
        Assert.Throws<ArgumentException>(() => pages.FreePages(block, 1));
        Assert.Throws<ArgumentException>(() => pages.FreePage(FabricBuilder.Memory32Start));
        Assert.Throws<ArgumentOutOfRangeException>(() => pages.AllocPages(HostPageAllocator.MaxOrder + 1));
        Assert.Equal(pages.TotalPageCount - 1, pages.FreePageCount);
    }

    [Fact]
    public void AllocPages_AboveTheMmioHole_ReturnsHighBusAddresses()
    {
        using PcieFabric fabric = Build(PcieFabric.LowRamLimit + (4 * Topo.MiB));
        var pages = new HostPageAllocator(fabric);

        ulong page = pages.AllocPage().Value;

        Assert.True(page >= PcieFabric.HighRamBase, $"0x{page:x}");
        Assert.True(fabric.TryFindRam(page, out ulong offset, out _));
        Assert.True(offset >= PcieFabric.LowRamLimit);
        pages.FreePage(page);
    }

    [Theory]
    [InlineData(0UL, 0)]
    [InlineData(1UL, 0)]
    [InlineData(4096UL, 0)]
    [InlineData(4097UL, 1)]
    [InlineData(2UL << 20, 9)]
    public void OrderForBytes_IsLinuxGetOrder(ulong bytes, int order) => Assert.Equal(order, HostPageAllocator.OrderForBytes(bytes));

    [Fact]
    public void AllocAndFree_FromManyThreads_NeverHandsOutAPageTwice()
    {
        using PcieFabric fabric = Build(16 * Topo.MiB);
        var pages = new HostPageAllocator(fabric);
        long freeBefore = pages.FreePageCount;
        var owned = new HashSet<ulong>();

        Parallel.For(0, 8, worker =>
        {
            var mine = new List<ulong>();
            for (int round = 0; round < 200; round++)
            {
                ulong page = pages.AllocPages(round % 3).Value;
                lock (owned)
                {
                    Assert.True(owned.Add(page), $"0x{page:x} handed out twice");
                }

                mine.Add(page);
                if (mine.Count > 4)
                {
                    int order = (round - mine.Count + 1) % 3;
                    lock (owned)
                    {
                        owned.Remove(mine[0]);
                    }

                    pages.FreePages(mine[0], order);
                    mine.RemoveAt(0);
                }
            }

            int first = 200 - mine.Count;
            for (int i = 0; i < mine.Count; i++)
            {
                lock (owned)
                {
                    owned.Remove(mine[i]);
                }

                pages.FreePages(mine[i], (first + i) % 3);
            }
        });

        Assert.Equal(freeBefore, pages.FreePageCount);
    }
}
