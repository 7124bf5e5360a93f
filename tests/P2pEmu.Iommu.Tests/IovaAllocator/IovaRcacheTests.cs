using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using P2pEmu.Iommu.IovaAllocator;
using Xunit;

namespace P2pEmu.Iommu.Tests.IovaAllocator;

/// <summary>The fast path and its per-CPU magazine cache: spec §6.3–6.4.</summary>
public sealed class IovaRcacheTests
{
    private const ulong Page = 4096;
    private const ulong Limit32 = 0xF_FFFF;
    private const ulong Limit64 = (1UL << 40) - 1;

    private static IovaDomain NewDomain(int cpus = 2, IovaMagazineModel model = IovaMagazineModel.Unbounded127, ulong startPfn = 1, TimeSpan? trimDelay = null) =>
        new(Page, startPfn, new IovaDomainOptions { CpuCount = cpus, MagazineModel = model, DepotTrimDelay = trimDelay });

    /// <summary>Allocates <paramref name="count"/> one-page IOVAs through the fast path on CPU 0 (all from the tree).</summary>
    private static List<ulong> AllocMany(IovaDomain domain, int count, ulong limit = Limit32)
    {
        var pfns = new List<ulong>(count);
        for (int i = 0; i < count; i++)
        {
            ulong pfn = domain.AllocIovaFast(1, limit, false, 0);
            Assert.NotEqual(0UL, pfn);
            pfns.Add(pfn);
        }

        return pfns;
    }

    [Theory]
    [InlineData(IovaMagazineModel.Unbounded127, 127)]
    [InlineData(IovaMagazineModel.Capped128, 128)]
    public void Ctor_MagazineModel_SetsMagazineCapacity(IovaMagazineModel model, int capacity)
    {
        using IovaDomain domain = NewDomain(model: model);

        Assert.Equal(capacity, domain.MagazineCapacity);
    }

    [Fact]
    public void AllocIovaFast_AfterFreeOnTheSameCpu_ReturnsThatPfnWithoutATreeWalk()
    {
        using IovaDomain domain = NewDomain();
        ulong pfn = domain.AllocIovaFast(2, Limit32, false, 0);
        domain.FreeIovaFast(pfn, 2, 0);
        long allocations = domain.TreeAllocations;
        long walks = domain.TreeWalkSteps;

        Assert.Equal(pfn, domain.AllocIovaFast(2, Limit32, false, 0));
        Assert.Equal(allocations, domain.TreeAllocations);
        Assert.Equal(walks, domain.TreeWalkSteps);
        Assert.Equal(new IovaRange(pfn, pfn + 1), domain.FindIova(pfn)); // a cached IOVA stays allocated in the tree
    }

    [Theory]
    [InlineData(1UL, 1UL)]
    [InlineData(3UL, 4UL)]
    [InlineData(5UL, 8UL)]
    [InlineData(17UL, 32UL)]
    [InlineData(31UL, 32UL)]
    [InlineData(32UL, 32UL)]
    [InlineData(33UL, 33UL)]
    [InlineData(40UL, 40UL)]
    public void AllocIovaFast_Size_RoundsUpToAPowerOfTwoOnlyBelow32Pages(ulong size, ulong allocatedPages)
    {
        using IovaDomain domain = NewDomain();

        ulong pfn = domain.AllocIovaFast(size, Limit32, false, 0);

        Assert.Equal(allocatedPages, domain.FindIova(pfn)!.Value.SizePages);
        Assert.Equal(0UL, pfn % System.Numerics.BitOperations.RoundUpToPowerOf2(size)); // always size-aligned
    }

    [Fact]
    public void FreeIovaFast_40Pages_BypassesTheCache()
    {
        using IovaDomain domain = NewDomain();
        ulong pfn = domain.AllocIovaFast(40, Limit32, false, 0);

        domain.FreeIovaFast(pfn, 40, 0);

        Assert.Null(domain.FindIova(pfn));
        for (int sizeClass = 0; sizeClass < IovaDomain.RangeCacheClasses; sizeClass++)
        {
            Assert.Equal((0, 0), domain.CpuMagazineCounts(0, sizeClass));
        }
    }

    [Fact]
    public void FreeIovaFast_32Pages_IsCachedInTheLastClass()
    {
        using IovaDomain domain = NewDomain();
        ulong pfn = domain.AllocIovaFast(32, Limit32, false, 0);

        domain.FreeIovaFast(pfn, 32, 0);

        Assert.Equal((1, 0), domain.CpuMagazineCounts(0, 5));
        Assert.NotNull(domain.FindIova(pfn));
    }

    [Fact]
    public void FreeIovaFast_UnroundedSize_GoesToTheClassOfTheRoundedAllocation()
    {
        using IovaDomain domain = NewDomain();
        ulong pfn = domain.AllocIovaFast(3, Limit32, false, 0);

        domain.FreeIovaFast(pfn, 3, 0);

        Assert.Equal((1, 0), domain.CpuMagazineCounts(0, 2));
        Assert.Equal(pfn, domain.AllocIovaFast(4, Limit32, false, 0));
    }

    [Fact]
    public void AllocIovaFast_NewestCachedPfnAboveTheLimit_TakesTheNewestThatFitsAndFillsTheHole()
    {
        using IovaDomain domain = NewDomain();
        ulong low1 = domain.AllocIovaFast(1, Limit32, false, 0);
        ulong low2 = domain.AllocIovaFast(1, Limit32, false, 0);
        ulong high = domain.AllocIovaFast(1, Limit64, false, 0);
        domain.FreeIovaFast(low1, 1, 0);
        domain.FreeIovaFast(low2, 1, 0);
        domain.FreeIovaFast(high, 1, 0); // magazine: [low1, low2, high]
        long allocations = domain.TreeAllocations;

        Assert.Equal(low2, domain.AllocIovaFast(1, Limit32, false, 0)); // high does not fit: skipped, not taken
        Assert.Equal(high, domain.AllocIovaFast(1, Limit64, false, 0)); // high moved into low2's slot, now on top
        Assert.Equal(low1, domain.AllocIovaFast(1, Limit64, false, 0));
        Assert.Equal(allocations, domain.TreeAllocations);
    }

    [Fact]
    public void AllocIovaFast_NoCachedPfnFitsTheLimit_AllocatesFromTheTreeAndKeepsTheCache()
    {
        using IovaDomain domain = NewDomain();
        ulong high = domain.AllocIovaFast(1, Limit64, false, 0);
        domain.FreeIovaFast(high, 1, 0);
        long allocations = domain.TreeAllocations;

        ulong low = domain.AllocIovaFast(1, Limit32, false, 0);

        Assert.True(low <= Limit32);
        Assert.Equal(allocations + 1, domain.TreeAllocations);
        Assert.Equal((1, 0), domain.CpuMagazineCounts(0, 0));
    }

    [Fact]
    public void AllocIovaFast_LimitBelowTheSize_NeverTakesFromTheCache()
    {
        using IovaDomain domain = NewDomain();
        ulong pfn = domain.AllocIovaFast(4, Limit32, false, 0);
        domain.FreeIovaFast(pfn, 4, 0);

        Assert.Equal(0UL, domain.AllocIovaFast(4, 2, false, 0)); // Linux's limit - size would wrap and accept it
        Assert.Equal((1, 0), domain.CpuMagazineCounts(0, 2));
    }

    [Fact]
    public void AllocIovaFast_OtherCpu_DoesNotSeeThisCpusCache()
    {
        using IovaDomain domain = NewDomain();
        ulong pfn = domain.AllocIovaFast(1, Limit32, false, 0);
        domain.FreeIovaFast(pfn, 1, 0);

        ulong other = domain.AllocIovaFast(1, Limit32, false, 1);

        Assert.NotEqual(pfn, other);
        Assert.Equal((1, 0), domain.CpuMagazineCounts(0, 0));
        Assert.Equal(pfn, domain.AllocIovaFast(1, Limit32, false, 0));
    }

    [Fact]
    public void FreeIovaFast_LoadedFull_SwapsWithPrevThenSpillsToTheDepot()
    {
        using IovaDomain domain = NewDomain(cpus: 1);
        int cap = domain.MagazineCapacity;
        List<ulong> pfns = AllocMany(domain, (2 * cap) + 1);
        int next = 0;
        for (; next < cap; next++)
        {
            domain.FreeIovaFast(pfns[next], 1, 0);
        }

        Assert.Equal((cap, 0), domain.CpuMagazineCounts(0, 0));
        domain.FreeIovaFast(pfns[next++], 1, 0);
        Assert.Equal((1, cap), domain.CpuMagazineCounts(0, 0)); // swapped: the empty prev became loaded

        for (; next < 2 * cap; next++)
        {
            domain.FreeIovaFast(pfns[next], 1, 0);
        }

        Assert.Equal((cap, cap), domain.CpuMagazineCounts(0, 0));
        Assert.Equal(0, domain.DepotSize(0));
        domain.FreeIovaFast(pfns[next], 1, 0);
        Assert.Equal((1, cap), domain.CpuMagazineCounts(0, 0));
        Assert.Equal(1, domain.DepotSize(0));
        Assert.Equal(pfns.Count, domain.Snapshot().Count); // nothing left the tree
    }

    [Fact]
    public void AllocIovaFast_LoadedEmpty_SwapsInPrevWithoutATreeWalk()
    {
        using IovaDomain domain = NewDomain(cpus: 1);
        int cap = domain.MagazineCapacity;
        List<ulong> pfns = AllocMany(domain, cap + 1);
        foreach (ulong pfn in pfns)
        {
            domain.FreeIovaFast(pfn, 1, 0); // (1, cap) afterwards
        }

        long allocations = domain.TreeAllocations;
        Assert.Equal(pfns[^1], domain.AllocIovaFast(1, Limit32, false, 0));
        Assert.Equal((0, cap), domain.CpuMagazineCounts(0, 0));
        Assert.Equal(pfns[cap - 1], domain.AllocIovaFast(1, Limit32, false, 0));
        Assert.Equal((cap - 1, 0), domain.CpuMagazineCounts(0, 0));
        Assert.Equal(allocations, domain.TreeAllocations);
    }

    [Fact]
    public void AllocIovaFast_CpuWithEmptyMagazines_TakesAFullMagazineFromTheDepot()
    {
        using IovaDomain domain = NewDomain(cpus: 2);
        int cap = domain.MagazineCapacity;
        List<ulong> pfns = AllocMany(domain, (2 * cap) + 1);
        foreach (ulong pfn in pfns)
        {
            domain.FreeIovaFast(pfn, 1, 0);
        }

        Assert.Equal(1, domain.DepotSize(0));
        long allocations = domain.TreeAllocations;

        ulong got = domain.AllocIovaFast(1, Limit32, false, 1);

        Assert.Equal(pfns[(2 * cap) - 1], got); // the depot got the magazine loaded when both were full; its top is its newest
        Assert.Equal(0, domain.DepotSize(0));
        Assert.Equal((cap - 1, 0), domain.CpuMagazineCounts(1, 0));
        Assert.Equal(allocations, domain.TreeAllocations);
    }

    [Theory]
    [InlineData(IovaMagazineModel.Capped128)]
    [InlineData(IovaMagazineModel.Unbounded127)]
    public void FreeIovaFast_DepotAtTheOldCap_FreesTheOverflowToTheTreeOnlyInTheCappedModel(IovaMagazineModel model)
    {
        using IovaDomain domain = NewDomain(cpus: 1, model: model);
        int cap = domain.MagazineCapacity;
        int fillsDepot = (2 * cap) + (32 * cap); // loaded + prev full, 32 magazines in the depot
        List<ulong> pfns = AllocMany(domain, fillsDepot + 1);
        for (int i = 0; i < fillsDepot; i++)
        {
            domain.FreeIovaFast(pfns[i], 1, 0);
        }

        Assert.Equal(32, domain.DepotSize(0));
        Assert.Equal(pfns.Count, domain.Snapshot().Count);

        domain.FreeIovaFast(pfns[fillsDepot], 1, 0);

        if (model == IovaMagazineModel.Capped128)
        {
            Assert.Equal(32, domain.DepotSize(0));
            Assert.Equal(pfns.Count - cap, domain.Snapshot().Count);
            Assert.Null(domain.FindIova(pfns[fillsDepot - 1])); // the overflowing loaded magazine held the latest frees
            Assert.Null(domain.FindIova(pfns[fillsDepot - cap]));
            Assert.NotNull(domain.FindIova(pfns[fillsDepot - cap - 1]));
        }
        else
        {
            Assert.Equal(33, domain.DepotSize(0));
            Assert.Equal(pfns.Count, domain.Snapshot().Count);
        }

        Assert.Equal((1, cap), domain.CpuMagazineCounts(0, 0));
        Assert.Null(domain.Validate());
    }

    [Fact]
    public void TrimDepot_MoreMagazinesThanCpus_FreesOneMagazinePerCall()
    {
        using IovaDomain domain = NewDomain(cpus: 1);
        int cap = domain.MagazineCapacity;
        List<ulong> pfns = AllocMany(domain, (4 * cap) + 1);
        foreach (ulong pfn in pfns)
        {
            domain.FreeIovaFast(pfn, 1, 0);
        }

        Assert.Equal(3, domain.DepotSize(0));

        Assert.Equal(1, domain.TrimDepot());
        Assert.Equal(2, domain.DepotSize(0));
        Assert.Equal(pfns.Count - cap, domain.Snapshot().Count);
        Assert.Equal(1, domain.TrimDepot());
        Assert.Equal(0, domain.TrimDepot()); // one magazine per CPU is kept
        Assert.Equal(1, domain.DepotSize(0));
        Assert.Equal(pfns.Count - (2 * cap), domain.Snapshot().Count);
    }

    [Fact]
    public void TrimDepot_CappedModel_DoesNothing()
    {
        using IovaDomain domain = NewDomain(cpus: 1, model: IovaMagazineModel.Capped128);
        int cap = domain.MagazineCapacity;
        foreach (ulong pfn in AllocMany(domain, (4 * cap) + 1))
        {
            domain.FreeIovaFast(pfn, 1, 0);
        }

        Assert.Equal(0, domain.TrimDepot());
        Assert.Equal(3, domain.DepotSize(0));
    }

    [Fact]
    [Trait("Category", "Stress")]
    public void DepotTrimDelay_Set_TimerTrimsTheDepotDownToOneMagazinePerCpu()
    {
        using IovaDomain domain = NewDomain(cpus: 1, trimDelay: TimeSpan.FromMilliseconds(10));
        int cap = domain.MagazineCapacity;
        List<ulong> pfns = AllocMany(domain, (4 * cap) + 1);
        foreach (ulong pfn in pfns)
        {
            domain.FreeIovaFast(pfn, 1, 0);
        }

        var clock = Stopwatch.StartNew();
        while (domain.DepotSize(0) > 1 && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            Thread.Sleep(5);
        }

        Assert.Equal(1, domain.DepotSize(0));
        Assert.Equal(pfns.Count - (2 * cap), domain.Snapshot().Count);
    }

    [Fact]
    public void AllocIovaFast_TreeFullButIovasCached_FlushesAndRetriesOnlyWhenAllowed()
    {
        using IovaDomain domain = NewDomain(startPfn: 0xFFFF0); // 16 pages below 4 GiB
        List<ulong> pfns = AllocMany(domain, 16);
        for (int i = 0; i < 4; i++)
        {
            domain.FreeIovaFast(pfns[i], 1, i % 2); // 0xFFFFC-0xFFFFF, cached on both CPUs
        }

        Assert.Equal(0UL, domain.AllocIovaFast(4, Limit32, flushRcache: false, 0));
        Assert.Equal(2, domain.CpuMagazineCounts(0, 0).Loaded);

        Assert.Equal(0xFFFFCUL, domain.AllocIovaFast(4, Limit32, flushRcache: true, 0));
        Assert.Equal((0, 0), domain.CpuMagazineCounts(0, 0));
        Assert.Equal((0, 0), domain.CpuMagazineCounts(1, 0));
    }

    [Fact]
    public void AllocIovaFast_Exhausted_ReturnsZero()
    {
        using IovaDomain domain = NewDomain(startPfn: 0xFFFF0);
        AllocMany(domain, 16);

        Assert.Equal(0UL, domain.AllocIovaFast(1, Limit32, true, 0));
        Assert.Equal(0UL, domain.AllocIovaFast(1, Limit32, false, 1));
    }

    [Fact]
    public void FreeCpuCachedIovas_OneCpu_FreesOnlyThatCpusIovasToTheTree()
    {
        using IovaDomain domain = NewDomain();
        List<ulong> pfns = AllocMany(domain, 4);
        domain.FreeIovaFast(pfns[0], 1, 0);
        domain.FreeIovaFast(pfns[1], 1, 1);
        domain.FreeIovaFast(pfns[2], 1, 1);

        domain.FreeCpuCachedIovas(1);

        Assert.NotNull(domain.FindIova(pfns[0]));
        Assert.Null(domain.FindIova(pfns[1]));
        Assert.Null(domain.FindIova(pfns[2]));
        Assert.Equal((0, 0), domain.CpuMagazineCounts(1, 0));
        Assert.Equal((1, 0), domain.CpuMagazineCounts(0, 0));
    }

    [Fact]
    public void FreeGlobalCachedIovas_DepotWithMagazines_EmptiesItIntoTheTree()
    {
        using IovaDomain domain = NewDomain(cpus: 1);
        int cap = domain.MagazineCapacity;
        List<ulong> pfns = AllocMany(domain, (2 * cap) + 1);
        foreach (ulong pfn in pfns)
        {
            domain.FreeIovaFast(pfn, 1, 0);
        }

        domain.FreeGlobalCachedIovas();

        Assert.Equal(0, domain.DepotSize(0));
        Assert.Equal(pfns.Count - cap, domain.Snapshot().Count);
        Assert.Null(domain.FindIova(pfns[cap]));    // the depot magazine: the second cap frees
        Assert.NotNull(domain.FindIova(pfns[0])); // still in CPU 0's prev magazine
    }

    [Fact]
    public void FreeIovaFast_Misuse_Throws()
    {
        using IovaDomain domain = NewDomain();
        ulong pfn = domain.AllocIovaFast(4, Limit32, false, 0);

        Assert.Throws<ArgumentException>(() => domain.FreeIovaFast(pfn - 4, 4, 0));  // nothing there
        Assert.Throws<ArgumentException>(() => domain.FreeIovaFast(pfn + 1, 4, 0));  // inside, not the start
        Assert.Throws<ArgumentException>(() => domain.FreeIovaFast(pfn, 8, 0));      // another size class
        Assert.Throws<ArgumentOutOfRangeException>(() => domain.FreeIovaFast(pfn, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => domain.FreeIovaFast(pfn, 4, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => domain.FreeIovaFast(pfn, 4, -1));
        Assert.Equal((0, 0), domain.CpuMagazineCounts(0, 2));
        domain.FreeIovaFast(pfn, 3, 0); // the unrounded size is fine
        Assert.Equal((1, 0), domain.CpuMagazineCounts(0, 2));
    }

    [Fact]
    public void AllocIovaFast_Misuse_Throws()
    {
        using IovaDomain domain = NewDomain();

        Assert.Throws<ArgumentOutOfRangeException>(() => domain.AllocIovaFast(0, Limit32, false, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => domain.AllocIovaFast(1, Limit32, false, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => domain.FreeCpuCachedIovas(2));
    }

    [Fact]
    public void FreeIovaFast_VerificationOff_TrustsTheCallerLikeLinux()
    {
        using var domain = new IovaDomain(Page, 1, new IovaDomainOptions { CpuCount = 1, VerifyFastFrees = false });

        domain.FreeIovaFast(0x1234, 1, 0); // never allocated: Linux caches it anyway

        Assert.Equal(0x1234UL, domain.AllocIovaFast(1, Limit32, false, 0));
        Assert.Null(domain.FindIova(0x1234));
    }

    [Fact]
    public void AllocIovaFast_CurrentCpuOverloads_UseAValidCpu()
    {
        using IovaDomain domain = NewDomain(cpus: 3);
        Assert.InRange(domain.CurrentCpu, 0, 2);

        ulong pfn = domain.AllocIovaFast(1, Limit32, false);
        domain.FreeIovaFast(pfn, 1);

        int cached = 0;
        for (int cpu = 0; cpu < 3; cpu++)
        {
            cached += domain.CpuMagazineCounts(cpu, 0).Loaded;
        }

        Assert.Equal(1, cached);
    }
}
