using System;
using System.Collections.Generic;
using System.Threading;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Topology;
using P2pEmu.Iommu.Hardware;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Iommu.Tests.Hardware;

/// <summary>The host API of a domain: Linux <c>iommu_map</c>/<c>iommu_unmap</c>/<c>iommu_iova_to_phys</c>.</summary>
public sealed class IommuDomainTests
{
    private const ulong KiB4 = 4096;
    private const ulong MiB2 = 2UL << 20;
    private const ulong GiB1 = 1UL << 30;

    /// <summary>Runs <paramref name="body"/> on <paramref name="threads"/> threads released at once, and waits for all.</summary>
    private static void RunTogether(int threads, Action<int> body)
    {
        using var start = new Barrier(threads);
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int thread = t;
            workers[thread] = new Thread(() =>
            {
                start.SignalAndWait();
                body(thread);
            });
            workers[thread].Start();
        }

        foreach (Thread worker in workers)
        {
            worker.Join();
        }
    }

    private static int LeafLevel(IommuMachine m, IommuDomain domain, ulong iova)
    {
        Assert.True(new PageTableWalker(m.Fabric).TryWalk(domain.RootTable, new Iova(iova), IommuProt.None, out PageWalkResult walk), $"0x{iova:x} not mapped");
        return walk.Level;
    }

    [Fact]
    public void Map_PicksTheLargestPageThatFitsSizeAndAlignment_LikeIommuPgsize()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.NewDomain();
        const ulong Start = MiB2 - KiB4;

        Assert.Equal(Errno.None, domain.Map(new Iova(Start), new BusAddress(Start), MiB2 + (2 * KiB4), IommuProt.ReadWrite));

        Assert.Equal(1, LeafLevel(m, domain, Start));
        Assert.Equal(2, LeafLevel(m, domain, MiB2));
        Assert.Equal(2, LeafLevel(m, domain, (2 * MiB2) - 1));
        Assert.Equal(1, LeafLevel(m, domain, 2 * MiB2));
        Assert.Equal(0UL, domain.IovaToPhys(new Iova((2 * MiB2) + KiB4)));
        Assert.Equal(MiB2 + (2 * KiB4), domain.MappedBytes);
    }

    [Fact]
    public void Map_DifferentlyAlignedTarget_FallsBackToSmallPages()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.NewDomain();

        Assert.Equal(Errno.None, domain.Map(new Iova(GiB1), new BusAddress(MiB2 + KiB4), MiB2, IommuProt.Read));

        Assert.Equal(1, LeafLevel(m, domain, GiB1));
        Assert.Equal(1, LeafLevel(m, domain, GiB1 + MiB2 - 1));
        Assert.Equal((2 * MiB2) + KiB4 - 1, domain.IovaToPhys(new Iova(GiB1 + MiB2 - 1)));
        Assert.True(domain.TryIovaToPhys(new Iova(GiB1 + 5), out BusAddress address, out IommuProt prot));
        Assert.Equal(new BusAddress(MiB2 + KiB4 + 5), address);
        Assert.Equal(IommuProt.Read, prot);
    }

    [Theory]
    [InlineData(0x1001UL, 0x2000UL, 0x1000UL, IommuProt.ReadWrite)]
    [InlineData(0x1000UL, 0x2001UL, 0x1000UL, IommuProt.ReadWrite)]
    [InlineData(0x1000UL, 0x2000UL, 0x1800UL, IommuProt.ReadWrite)]
    [InlineData(0x1000UL, 0x2000UL, 0x1000UL, IommuProt.None)]
    [InlineData(0x1000UL, 0x0010_0000_0000_0000UL, 0x1000UL, IommuProt.Read)]
    public void Map_BadArguments_IsEinval_AndMapsNothing(ulong iova, ulong target, ulong size, IommuProt prot)
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.NewDomain();

        Assert.Equal(Errno.EINVAL, domain.Map(new Iova(iova), new BusAddress(target), size, prot));

        Assert.Equal(0UL, domain.MappedBytes);
        Assert.Equal(1, domain.PageTableCount);
    }

    [Theory]
    [InlineData(1UL << 48)]
    [InlineData((1UL << 48) - 0x1000)]
    public void Map_BeyondThe48BitAperture_IsEfault(ulong iova)
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.NewDomain();

        Assert.Equal(Errno.EFAULT, domain.Map(new Iova(iova), new BusAddress(0x1000), 0x2000, IommuProt.Read));
        Assert.Equal(1, domain.PageTableCount);
    }

    [Fact]
    public void Map_ZeroBytes_SucceedsAndMapsNothing()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.NewDomain();

        Assert.Equal(Errno.None, domain.Map(new Iova(0x1000), new BusAddress(0x1000), 0, IommuProt.Read));
        Assert.Equal(1, domain.PageTableCount);
    }

    [Fact]
    public void Map_OverlappingAnExistingMapping_IsEexist_AndRollsBackWhatItMapped()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.NewDomain();
        Assert.Equal(Errno.None, domain.Map(new Iova(0x10_3000), new BusAddress(0x9000), 2 * KiB4, IommuProt.ReadWrite));

        Assert.Equal(Errno.EEXIST, domain.Map(new Iova(0x10_0000), new BusAddress(0x20_0000), 4 * KiB4, IommuProt.ReadWrite));

        Assert.Equal(0UL, domain.IovaToPhys(new Iova(0x10_0000)));
        Assert.Equal(0UL, domain.IovaToPhys(new Iova(0x10_2000)));
        Assert.Equal(0x9000UL, domain.IovaToPhys(new Iova(0x10_3000)));
        Assert.Equal(2 * KiB4, domain.MappedBytes);
    }

    [Fact]
    public void Map_LargePageOverSmallMappings_AndSmallPageInsideLargeOne_AreEexist()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.NewDomain();
        Assert.Equal(Errno.None, domain.Map(new Iova(MiB2 + KiB4), new BusAddress(0x9000), KiB4, IommuProt.ReadWrite));
        Assert.Equal(Errno.None, domain.Map(new Iova(4 * MiB2), new BusAddress(MiB2), MiB2, IommuProt.ReadWrite));

        Assert.Equal(Errno.EEXIST, domain.Map(new Iova(MiB2), new BusAddress(MiB2), MiB2, IommuProt.ReadWrite));
        Assert.Equal(Errno.EEXIST, domain.Map(new Iova((4 * MiB2) + KiB4), new BusAddress(0x9000), KiB4, IommuProt.ReadWrite));
        Assert.Equal(2, LeafLevel(m, domain, 4 * MiB2));
    }

    [Fact]
    public void Map_WhenPageTablePagesRunOut_IsEnomem_AndKeepsTheTablesItMade_LikeIntel()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.NewDomain();
        Assert.Equal(Errno.None, domain.Map(new Iova(0x1000), new BusAddress(0x1000), KiB4, IommuProt.ReadWrite));
        var hoard = new List<ulong>();
        while (m.Pages.AllocPage() is { IsSuccess: true } page)
        {
            hoard.Add(page.Value);
        }

        m.Pages.FreePage(hoard[^1]);

        // One free page: the level-3 table fits, the level-2 table does not. pfn_to_dma_pte leaves the new table hooked in.
        Assert.Equal(Errno.ENOMEM, domain.Map(new Iova(0x100_0000_0000), new BusAddress(0x1000), KiB4, IommuProt.ReadWrite));
        Assert.Equal(5, domain.PageTableCount);
        Assert.Equal(0, m.Pages.FreePageCount);
        Assert.Equal(KiB4, domain.MappedBytes);
        Assert.Equal(0UL, domain.IovaToPhys(new Iova(0x100_0000_0000)));

        // With a page back, the same map succeeds through the table that stayed.
        m.Pages.FreePage(hoard[^2]);
        Assert.Equal(Errno.ENOMEM, domain.Map(new Iova(0x100_0000_0000), new BusAddress(0x1000), KiB4, IommuProt.ReadWrite)); // level 2 made, level 1 not
        m.Pages.FreePage(hoard[^3]);
        Assert.Equal(Errno.None, domain.Map(new Iova(0x100_0000_0000), new BusAddress(0x1000), KiB4, IommuProt.ReadWrite));
        Assert.Equal(7, domain.PageTableCount);
    }

    [Fact]
    public void ConcurrentMaps_OfDisjointPages_ThatNeedTheSameNewTables_InstallEachTableOnce()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.NewDomain();
        long freeBefore = m.Pages.FreePageCount;
        const int Threads = 4;
        const int Regions = 256;
        var errors = new Errno[Threads][];

        // Thread t maps page t of every 2 MiB region: all threads need each region's new leaf table at once.
        RunTogether(Threads, thread =>
        {
            errors[thread] = new Errno[Regions];
            for (int r = 0; r < Regions; r++)
            {
                errors[thread][r] = domain.Map(new Iova(PageIn(r, thread)), new BusAddress(Target(r, thread)), KiB4, IommuProt.ReadWrite);
            }
        });

        Assert.All(errors, perThread => Assert.All(perThread, error => Assert.Equal(Errno.None, error)));

        // The root, one level-3 and one level-2 table, and one leaf table per region; no page lost to a race.
        Assert.Equal(3 + Regions, domain.PageTableCount);
        Assert.Equal(freeBefore - (2 + Regions), m.Pages.FreePageCount);
        Assert.Equal((ulong)(Threads * Regions) * KiB4, domain.MappedBytes);
        for (int r = 0; r < Regions; r++)
        {
            for (int t = 0; t < Threads; t++)
            {
                Assert.Equal(Target(r, t), domain.IovaToPhys(new Iova(PageIn(r, t))));
            }
        }

        domain.Dispose();
        Assert.Equal(freeBefore + 1, m.Pages.FreePageCount);

        static ulong PageIn(int region, int thread) => GiB1 + ((ulong)region * MiB2) + ((ulong)thread * KiB4);
        static ulong Target(int region, int thread) => ((ulong)((region * Threads) + thread) + 1) * KiB4;
    }

    [Fact]
    public void ConcurrentMapsAndCoveringUnmaps_InNeighbouringGigabytes_KeepEveryTranslation_AndLeakNoTable()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.NewDomain();
        long freeBefore = m.Pages.FreePageCount;
        const int Threads = 4;
        const int Rounds = 100;
        const ulong SmallPart = 2 * MiB2;
        var failures = new string?[Threads];

        // Each thread owns one gigabyte: its own level-2 table, under the level-3 table all share. Round after round it
        // maps the gigabyte whole (4 KiB pages in two leaf tables, then 2 MiB pages), checks it, and unmaps it whole,
        // which frees its level-2 and leaf tables while the others walk the shared tables and install theirs.
        RunTogether(Threads, thread =>
        {
            ulong gigabyte = (ulong)(thread + 1) * GiB1;
            for (int round = 0; round < Rounds && failures[thread] is null; round++)
            {
                ulong target = Target(thread, round);
                Errno small = domain.Map(new Iova(gigabyte), new BusAddress(target + KiB4), SmallPart, IommuProt.ReadWrite);
                Errno large = domain.Map(new Iova(gigabyte + SmallPart), new BusAddress(target + SmallPart), GiB1 - SmallPart, IommuProt.ReadWrite);
                ulong[] probes = [0, SmallPart - KiB4, SmallPart, GiB1 - KiB4];
                foreach (ulong offset in probes)
                {
                    ulong expected = target + offset + (offset < SmallPart ? KiB4 : 0);
                    if (small != Errno.None || large != Errno.None || domain.IovaToPhys(new Iova(gigabyte + offset)) != expected)
                    {
                        failures[thread] = $"thread {thread} round {round} +0x{offset:x}: {small}/{large}, 0x{domain.IovaToPhys(new Iova(gigabyte + offset)):x}";
                    }
                }

                if (domain.Unmap(new Iova(gigabyte), GiB1) != GiB1)
                {
                    failures[thread] = $"thread {thread} round {round}: the unmap stopped short";
                }
            }
        });

        Assert.All(failures, failure => Assert.Null(failure));

        // Only the root and the shared level-3 table are left; every other table page went back.
        Assert.Equal(2, domain.PageTableCount);
        Assert.Equal(freeBefore - 1, m.Pages.FreePageCount);
        Assert.Equal(0UL, domain.MappedBytes);

        static ulong Target(int thread, int round) => (ulong)((thread * Rounds) + round + 1) * (2 * GiB1);
    }

    [Fact]
    public void Unmap_ReturnsBytes_StopsAtAHole_AndKeepsTablesItDoesNotCover()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.NewDomain();
        long freeBefore = m.Pages.FreePageCount;
        Assert.Equal(Errno.None, domain.Map(new Iova(0x10_0000), new BusAddress(0x1_0000), 3 * KiB4, IommuProt.ReadWrite));
        Assert.Equal(Errno.None, domain.Map(new Iova(0x10_4000), new BusAddress(0x2_0000), KiB4, IommuProt.ReadWrite));
        Assert.Equal(4, domain.PageTableCount);

        Assert.Equal(3 * KiB4, domain.Unmap(new Iova(0x10_0000), 5 * KiB4));
        Assert.Equal(0x2_0000UL, domain.IovaToPhys(new Iova(0x10_4000)));
        Assert.Equal(4, domain.PageTableCount);

        // The leaf table is empty now, but no unmap covered the 2 MiB it maps: Intel's driver keeps it.
        Assert.Equal(KiB4, domain.Unmap(new Iova(0x10_4000), KiB4));
        Assert.Equal(4, domain.PageTableCount);
        Assert.Equal(freeBefore - 3, m.Pages.FreePageCount);
        Assert.Equal(0UL, domain.MappedBytes);
        Assert.Equal(0UL, domain.Unmap(new Iova(0x10_4000), KiB4));
    }

    [Fact]
    public void Unmap_CoveringAWholeLeafTable_FreesIt_AndKeepsTheTablesAbove()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.NewDomain();
        long freeBefore = m.Pages.FreePageCount;
        Assert.Equal(Errno.None, domain.Map(new Iova(MiB2), new BusAddress(KiB4), MiB2, IommuProt.ReadWrite)); // 512 small pages
        Assert.Equal(Errno.None, domain.Map(new Iova(2 * MiB2), new BusAddress(KiB4), KiB4, IommuProt.ReadWrite));
        Assert.Equal(5, domain.PageTableCount);

        Assert.Equal(MiB2, domain.Unmap(new Iova(MiB2), MiB2));

        Assert.Equal(4, domain.PageTableCount);
        Assert.Equal(freeBefore - 3, m.Pages.FreePageCount);
        Assert.Equal(KiB4, domain.IovaToPhys(new Iova(2 * MiB2)));
        Assert.Equal(0UL, domain.IovaToPhys(new Iova(MiB2)));
        Assert.Equal(Errno.None, domain.Map(new Iova(MiB2), new BusAddress(KiB4), KiB4, IommuProt.ReadWrite)); // a new leaf table
        Assert.Equal(5, domain.PageTableCount);
    }

    [Fact]
    public void Unmap_CoveringAGigabyte_FreesTheLevelTwoTableAndEveryLeafTableUnderIt()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.NewDomain();
        long freeBefore = m.Pages.FreePageCount;
        const ulong SmallPart = 4 * MiB2;
        Assert.Equal(Errno.None, domain.Map(new Iova(GiB1), new BusAddress(KiB4), SmallPart, IommuProt.ReadWrite)); // 4 leaf tables
        Assert.Equal(Errno.None, domain.Map(new Iova(GiB1 + SmallPart), new BusAddress(SmallPart), GiB1 - SmallPart, IommuProt.ReadWrite)); // 2 MiB leaves
        Assert.Equal(7, domain.PageTableCount); // root, level 3, level 2, four leaf tables

        Assert.Equal(GiB1, domain.Unmap(new Iova(GiB1), GiB1));

        Assert.Equal(2, domain.PageTableCount);
        Assert.Equal(freeBefore - 1, m.Pages.FreePageCount);
    }

    [Fact]
    public void SmallPageRuns_AcrossTwoLeafTables_MapEveryPage_AndUnmapStopsAtTheHoleInTheSecond()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.NewDomain();
        const ulong Start = MiB2 - (3 * KiB4); // 3 pages in one leaf table, then 5 in the next
        Assert.Equal(Errno.None, domain.Map(new Iova(Start), new BusAddress(0x40_1000), 8 * KiB4, IommuProt.ReadWrite));
        Assert.Equal(KiB4, domain.Unmap(new Iova(MiB2 + (2 * KiB4)), KiB4)); // punch a hole: the 6th page

        for (ulong page = 0; page < 8; page++)
        {
            ulong expected = page == 5 ? 0 : 0x40_1000 + (page * KiB4) + 8;
            Assert.Equal(expected, domain.IovaToPhys(new Iova(Start + (page * KiB4) + 8)));
        }

        Assert.Equal(5 * KiB4, domain.Unmap(new Iova(Start), 8 * KiB4)); // 3 + 2 pages, then the hole
        Assert.Equal(0x40_1000 + (6 * KiB4), domain.IovaToPhys(new Iova(Start + (6 * KiB4))));
        Assert.Equal(2 * KiB4, domain.MappedBytes);
        Assert.Equal(Errno.EEXIST, domain.Map(new Iova(Start), new BusAddress(0x80_0000), 8 * KiB4, IommuProt.ReadWrite));
        Assert.Equal(2 * KiB4, domain.MappedBytes); // the pages mapped before the conflict were rolled back
        Assert.Equal(0UL, domain.IovaToPhys(new Iova(Start)));
    }

    [Fact]
    public void Unmap_PartOfALargePage_UnmapsTheWholePage_LikeIntel()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.NewDomain();
        Assert.Equal(Errno.None, domain.Map(new Iova(MiB2), new BusAddress(MiB2), MiB2, IommuProt.ReadWrite));

        Assert.Equal(MiB2, domain.Unmap(new Iova(MiB2 + KiB4), KiB4));

        Assert.Equal(0UL, domain.IovaToPhys(new Iova(MiB2)));
        Assert.Equal(3, domain.PageTableCount); // the level-2 table maps a gigabyte: this unmap does not cover it
    }

    [Theory]
    [InlineData(0x1800UL, 0x1000UL)]
    [InlineData(0x1000UL, 0x800UL)]
    [InlineData(0x1000UL, 0UL)]
    public void Unmap_MisalignedOrEmpty_UnmapsNothing(ulong iova, ulong size)
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.NewDomain();
        Assert.Equal(Errno.None, domain.Map(new Iova(0x1000), new BusAddress(0x1000), KiB4, IommuProt.ReadWrite));

        Assert.Equal(0UL, domain.Unmap(new Iova(iova), size));
        Assert.Equal(0x1000UL, domain.IovaToPhys(new Iova(0x1000)));
    }

    [Fact]
    public void Dispose_WhileAttached_Throws_AfterDetach_FreesEveryTablePage()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        long freeBefore = m.Pages.FreePageCount;
        IommuDomain domain = m.DomainFor("a");
        Assert.Equal(Errno.None, domain.Map(new Iova(GiB1), new BusAddress(0x1000), 8 * KiB4, IommuProt.ReadWrite));

        Assert.Throws<InvalidOperationException>(domain.Dispose);
        m.Unit.Detach(m["a"]);
        domain.Dispose();

        Assert.Equal(freeBefore, m.Pages.FreePageCount);
        Assert.Throws<ObjectDisposedException>(() => domain.Map(new Iova(0), new BusAddress(0x1000), KiB4, IommuProt.Read));
        Assert.Throws<ObjectDisposedException>(() => m.Unit.Attach(m["a"], domain));
    }

    [Fact]
    public void Map_NeedsNoInvalidation_UnmapInvalidatesOnlyTheIommusTheDomainIsAttachedTo()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.DomainFor("a");
        IommuDomain unattached = m.NewDomain();
        long before = m.Unit.IoTlb.Invalidations;

        Assert.Equal(Errno.None, domain.Map(new Iova(0x1000), new BusAddress(0x1000), KiB4, IommuProt.ReadWrite));
        Assert.Equal(Errno.None, unattached.Map(new Iova(0x1000), new BusAddress(0x1000), KiB4, IommuProt.ReadWrite));
        Assert.Equal(before, m.Unit.IoTlb.Invalidations);
        Assert.Equal(KiB4, unattached.Unmap(new Iova(0x1000), KiB4));
        Assert.Equal(before, m.Unit.IoTlb.Invalidations);
        Assert.Equal(KiB4, domain.Unmap(new Iova(0x1000), KiB4));

        Assert.Equal(before + 1, m.Unit.IoTlb.Invalidations);
    }

    [Fact]
    public void UnmapFast_LeavesTheIotlbEntry_UntilIotlbSync()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.DomainFor("a");
        var port = new DmaPort(m.Fabric, m.Fabric["a"]);
        Assert.Equal(Errno.None, domain.Map(new Iova(0x10_0000), new BusAddress(0x6000), KiB4, IommuProt.ReadWrite));
        Assert.True(port.Write(new DmaAddress(0x10_0000), new byte[8]).IsSuccess);
        var gather = default(IommuIotlbGather);

        Assert.Equal(KiB4, domain.UnmapFast(new Iova(0x10_0000), KiB4, ref gather, null));

        Assert.Equal(0UL, domain.IovaToPhys(new Iova(0x10_0000)));
        Assert.True(port.Write(new DmaAddress(0x10_0000), new byte[8]).IsSuccess); // the stale IOTLB entry still translates
        Assert.Equal((0x10_0000UL, 0x10_1000UL), (gather.Start, gather.End));
        domain.IotlbSync(ref gather);
        Assert.Equal(RouteStatus.IommuFault, port.Write(new DmaAddress(0x10_0000), new byte[8]).Status);
    }

    [Fact]
    public void Unmap_DomainSharedByTwoIommus_InvalidatesBothIotlbs()
    {
        using PcieFabric fabric = FabricBuilder.Build(Topo.Machine(
            Topo.HostBridge("hb0", 0, 0, false, Topo.RootPort("rp0", Topo.Endpoint("x"))) with { Iommu = IommuMode.Translate },
            Topo.HostBridge("hb1", 1, 0, false, Topo.RootPort("rp1", Topo.Endpoint("y"))) with { Iommu = IommuMode.Translate }));
        IReadOnlyList<IommuUnit> units = IommuUnit.InstallAll(fabric, new HostPageAllocator(fabric));
        IommuDomain domain = units[0].AllocateDomain().Value;
        units[0].Attach(fabric["x"], domain);
        units[1].Attach(fabric["y"], domain);
        Assert.Equal(Errno.None, domain.Map(new Iova(0x10_0000), new BusAddress(0x6000), KiB4, IommuProt.ReadWrite));
        Assert.True(new DmaPort(fabric, fabric["x"]).Write(new DmaAddress(0x10_0000), new byte[8]).IsSuccess);
        Assert.True(new DmaPort(fabric, fabric["y"]).Write(new DmaAddress(0x10_0000), new byte[8]).IsSuccess);
        Assert.Equal(1, units[0].IoTlb.ValidEntryCount);
        Assert.Equal(1, units[1].IoTlb.ValidEntryCount);

        Assert.Equal(KiB4, domain.Unmap(new Iova(0x10_0000), KiB4));

        Assert.Equal(0, units[0].IoTlb.ValidEntryCount);
        Assert.Equal(0, units[1].IoTlb.ValidEntryCount);
        Assert.Equal(RouteStatus.IommuFault, new DmaPort(fabric, fabric["y"]).Write(new DmaAddress(0x10_0000), new byte[8]).Status);
    }
}
