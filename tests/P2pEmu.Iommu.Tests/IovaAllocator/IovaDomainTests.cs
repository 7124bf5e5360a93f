using System;
using System.Collections.Generic;
using System.Numerics;
using P2pEmu.Iommu.IovaAllocator;
using Xunit;

namespace P2pEmu.Iommu.Tests.IovaAllocator;

/// <summary>The tree path of <see cref="IovaDomain"/>: spec §6.1–6.2 (init, alloc_iova, find/free/reserve_iova).</summary>
public sealed class IovaDomainTests
{
    private const ulong Page = 4096;
    private const ulong Limit32 = 0xF_FFFF; // DMA_BIT_MASK(32) >> 12

    private static IovaDomain NewDomain(ulong startPfn = 1) => new(Page, startPfn, new IovaDomainOptions { CpuCount = 2 });

    [Theory]
    [InlineData(0UL)]
    [InlineData(3UL)]
    [InlineData(3000UL)]
    [InlineData(8192UL)]
    public void Ctor_GranuleNotAPowerOfTwoUpToPageSize_Throws(ulong granule) =>
        Assert.Throws<ArgumentException>(() => new IovaDomain(granule, 1));

    [Theory]
    [InlineData(4096UL, 12, 0x10_0000UL)]
    [InlineData(512UL, 9, 0x80_0000UL)]
    [InlineData(1UL, 0, 0x1_0000_0000UL)]
    public void Ctor_Granule_SetsShiftAndDma32BitPfn(ulong granule, int shift, ulong dma32BitPfn)
    {
        using var domain = new IovaDomain(granule, 1);

        Assert.Equal(shift, domain.Shift);
        Assert.Equal(dma32BitPfn, domain.Dma32BitPfn);
        Assert.Equal(dma32BitPfn, domain.Max32AllocSize);
        Assert.Equal(new IovaRange(IovaDomain.AnchorPfn, IovaDomain.AnchorPfn), domain.Cached32Node);
        Assert.Equal(new IovaRange(IovaDomain.AnchorPfn, IovaDomain.AnchorPfn), domain.CachedNode);
        Assert.Empty(domain.Snapshot());
    }

    [Fact]
    public void Ctor_InvalidOptions_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new IovaDomain(Page, 1, new IovaDomainOptions { CpuCount = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IovaDomain(Page, 1, new IovaDomainOptions { DepotTrimDelay = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IovaDomain(Page, IovaDomain.AnchorPfn));
    }

    [Fact]
    public void AllocIova_SizeZero_Throws()
    {
        using IovaDomain domain = NewDomain();

        Assert.Throws<ArgumentOutOfRangeException>(() => domain.AllocIova(0, Limit32, false));
    }

    [Fact]
    public void AllocIova_EmptyDomain_AllocatesTopDownFromTheLimit()
    {
        using IovaDomain domain = NewDomain();

        Assert.Equal(new IovaRange(0xFFFFF, 0xFFFFF), domain.AllocIova(1, Limit32, false));
        Assert.Equal(new IovaRange(0xFFFFC, 0xFFFFE), domain.AllocIova(3, Limit32, false));
        Assert.Equal(new IovaRange(0xFFFF7, 0xFFFFB), domain.AllocIova(5, Limit32, false));
        Assert.Equal(new IovaRange(0xFFFF0, 0xFFFF4), domain.AllocIova(5, Limit32, true)); // aligned to 8: 0xFFFF5-6 stay free
    }

    [Fact]
    public void AllocIova_64BitLimit_AllocatesTopDownBelowThatLimit()
    {
        using IovaDomain domain = NewDomain();
        const ulong limit = (1UL << 36) - 1; // a 48-bit mask in 4 KiB pages

        Assert.Equal(new IovaRange(limit, limit), domain.AllocIova(1, limit, false));
        Assert.Equal(new IovaRange(limit - 16 + 1 - 16, limit - 16), domain.AllocIova(16, limit, true));
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    public void AllocIova_SizeAlignedRandomSizes_AlignsToRoundupPowerOfTwo(int seed)
    {
        using IovaDomain domain = NewDomain();
        var random = new Random(seed);
        for (int i = 0; i < 500; i++)
        {
            ulong size = (ulong)random.Next(1, 600);
            ulong limit = random.Next(2) == 0 ? Limit32 : (1UL << 40) - 1;

            IovaRange range = domain.AllocIova(size, limit, sizeAligned: true) ?? throw new InvalidOperationException("domain exhausted");

            ulong align = BitOperations.RoundUpToPowerOf2(size);
            Assert.Equal(0UL, range.PfnLo % align);
            Assert.Equal(size, range.SizePages);
            Assert.True(range.PfnHi <= limit);
        }

        Assert.Null(domain.Validate());
    }

    [Theory]
    [InlineData(21)]
    [InlineData(22)]
    [InlineData(23)]
    public void RandomAllocFree_AgainstIntervalReference_NeverOverlapsAndRespectsBounds(int seed)
    {
        const ulong startPfn = 0x100;
        using IovaDomain domain = NewDomain(startPfn);
        var random = new Random(seed);
        var owned = new IntervalReference();
        var reserved = new List<IovaRange>
        {
            domain.ReserveIova(0x800, 0x8FF)!.Value,
            domain.ReserveIova(0x1F00, 0x1F0F)!.Value,
        };
        int failures = 0;
        for (int step = 0; step < 6000; step++)
        {
            if (owned.Count == 0 || random.Next(100) < 55)
            {
                ulong size = (ulong)random.Next(1, 70);
                ulong limit = (ulong)random.Next(0x200, 0x2000);
                bool aligned = random.Next(2) == 0;
                IovaRange? got = domain.AllocIova(size, limit, aligned);
                if (got is not IovaRange range)
                {
                    failures++;
                    continue;
                }

                Assert.Equal(size, range.SizePages);
                Assert.InRange(range.PfnLo, startPfn, limit);
                Assert.True(range.PfnHi <= limit, $"{range} above limit 0x{limit:x}");
                Assert.True(!aligned || range.PfnLo % BitOperations.RoundUpToPowerOf2(size) == 0, $"{range} not aligned");
                Assert.All(reserved, r => Assert.False(range.PfnLo <= r.PfnHi && range.PfnHi >= r.PfnLo, $"{range} overlaps reserved {r}"));
                owned.Add(range.PfnLo, range.PfnHi);
            }
            else
            {
                (ulong lo, ulong hi) = owned.RemoveAt(random.Next(owned.Count));
                Assert.Equal(new IovaRange(lo, hi), domain.FindIova(hi));
                domain.FreeIova(lo);
                Assert.Null(domain.FindIova(lo));
            }

            if (step % 500 == 0)
            {
                Assert.Null(domain.Validate());
            }
        }

        Assert.True(failures > 0, "the space never filled up, so exhaustion was not exercised");
        Assert.Null(domain.Validate());
        Assert.Equal(owned.Count + reserved.Count, domain.Snapshot().Count);
    }

    [Fact]
    public void AllocIova_SmallSpace_FillsDownToStartPfnThenReturnsNull()
    {
        using IovaDomain domain = NewDomain(startPfn: 0x100);
        var got = new List<ulong>();
        for (int i = 0; i < 16; i++)
        {
            got.Add(domain.AllocIova(1, 0x10F, false)!.Value.PfnLo);
        }

        Assert.Equal(0x10FUL, got[0]);
        Assert.Equal(0x100UL, got[^1]);
        Assert.Null(domain.AllocIova(1, 0x10F, false));
        Assert.Null(domain.AllocIova(1, 0xFF, false)); // a limit below start_pfn has no space at all
    }

    [Fact]
    public void AllocIova_StartPfnOne_NeverReturnsPfnZero()
    {
        using IovaDomain domain = NewDomain(startPfn: 1);
        for (ulong expected = 7; expected >= 1; expected--)
        {
            Assert.Equal(expected, domain.AllocIova(1, 7, false)!.Value.PfnLo);
        }

        Assert.Null(domain.AllocIova(1, 7, false));
        Assert.Null(domain.FindIova(0));
    }

    [Fact]
    public void AllocIova_WhenTheWalkFromTheAnchorFails_DoesNotRetryBelowStartPfn()
    {
        // Linux's retry bound wraps to 0 when the cached node is the anchor; ours stays at start_pfn.
        // Linux would retry over [0, 8) and hand out [3-7]. Pages 4-7 are all there is above start_pfn.
        using IovaDomain domain = NewDomain(startPfn: 4);

        Assert.Null(domain.AllocIova(5, 7, false));
        Assert.Empty(domain.Snapshot());
        Assert.Equal(new IovaRange(4, 7), domain.AllocIova(4, 7, false));
    }

    [Fact]
    public void AllocIova_32BitFailure_FailsLargerRequestsFastWithoutAWalk()
    {
        using IovaDomain domain = NewDomain(startPfn: 0xFFFF0); // 16 pages below 4 GiB
        Assert.NotNull(domain.AllocIova(12, Limit32, false));   // [0xFFFF4-0xFFFFF], 4 pages left
        Assert.Null(domain.AllocIova(8, Limit32, false));
        Assert.Equal(8UL, domain.Max32AllocSize);

        long walks = domain.TreeWalkSteps;
        Assert.Null(domain.AllocIova(9, Limit32, false));
        Assert.Equal(walks, domain.TreeWalkSteps);               // fail-fast: no node visited

        Assert.NotNull(domain.AllocIova(4, Limit32, false));     // smaller than the failed size: walks and fits
        Assert.True(domain.TreeWalkSteps > walks);
        Assert.NotNull(domain.AllocIova(9, (1UL << 40) - 1, false)); // 64-bit limits ignore the 32-bit fail-fast
    }

    [Fact]
    public void FreeIova_Below4GiB_ResetsThe32BitFailFastSize()
    {
        using IovaDomain domain = NewDomain(startPfn: 0xFFFF0);
        IovaRange first = domain.AllocIova(16, Limit32, false)!.Value;
        Assert.Null(domain.AllocIova(1, Limit32, false));
        Assert.Equal(1UL, domain.Max32AllocSize);

        domain.FreeIova(first.PfnLo);

        Assert.Equal(domain.Dma32BitPfn, domain.Max32AllocSize);
        Assert.Equal(new IovaRange(0xFFFFF, 0xFFFFF), domain.AllocIova(1, Limit32, false));
    }

    [Fact]
    public void FreeIova_Above4GiB_KeepsThe32BitFailFastSize()
    {
        using IovaDomain domain = NewDomain(startPfn: 0xFFFF0);
        IovaRange high = domain.AllocIova(1, (1UL << 40) - 1, false)!.Value;
        Assert.NotNull(domain.AllocIova(16, Limit32, false));
        Assert.Null(domain.AllocIova(2, Limit32, false));

        domain.FreeIova(high.PfnLo);

        Assert.Equal(2UL, domain.Max32AllocSize);
    }

    [Fact]
    public void AllocIova_32BitRequests_ResumeFromThe32BitCachedNode()
    {
        using IovaDomain domain = NewDomain();
        for (int i = 0; i < 200; i++)
        {
            domain.AllocIova(1, Limit32, false);
        }

        long walks = domain.TreeWalkSteps;
        Assert.Equal(new IovaRange(0xFFF37, 0xFFF37), domain.AllocIova(1, Limit32, false));
        Assert.Equal(walks + 1, domain.TreeWalkSteps); // one step: from the cached node straight into the gap below it
        Assert.Equal(new IovaRange(0xFFF37, 0xFFF37), domain.Cached32Node);
    }

    [Fact]
    public void AllocIova_TwoLimitClasses_KeepSeparateCachedNodes()
    {
        using IovaDomain domain = NewDomain();
        const ulong limit64 = (1UL << 40) - 1;
        IovaRange low = domain.AllocIova(1, Limit32, false)!.Value;
        IovaRange high = domain.AllocIova(1, limit64, false)!.Value;

        Assert.Equal(low, domain.Cached32Node);
        Assert.Equal(high, domain.CachedNode);
        Assert.Equal(new IovaRange(0xFFFFE, 0xFFFFE), domain.AllocIova(1, Limit32, false));
        Assert.Equal(new IovaRange(limit64 - 1, limit64 - 1), domain.AllocIova(1, limit64, false));
    }

    [Fact]
    public void AllocIova_CachedNodeBelowAHigherLimit_StaysBelowItUntilTheRetryFromTheLimit()
    {
        using IovaDomain domain = NewDomain(startPfn: 0x7FFF0);
        Assert.Equal(new IovaRange(0x7FFFF, 0x7FFFF), domain.AllocIova(1, 0x7FFFF, false)); // a 31-bit device

        // A 32-bit request resumes below the cached node, not at the top of its own limit (Linux behaviour).
        Assert.Equal(new IovaRange(0x7FFFE, 0x7FFFE), domain.AllocIova(1, Limit32, false));
        for (int i = 0; i < 14; i++)
        {
            domain.AllocIova(1, Limit32, false);
        }

        // Below the cached node is now full: the walk fails and retries over [cached+1, limit] from an exact lookup.
        Assert.Equal(new IovaRange(0xFFFFF, 0xFFFFF), domain.AllocIova(1, Limit32, false));
        Assert.Null(domain.Validate());
    }

    [Fact]
    public void FreeIova_AboveThe32BitCachedNode_MovesItUpSoTheHoleIsReused()
    {
        using IovaDomain domain = NewDomain();
        IovaRange a = domain.AllocIova(1, Limit32, false)!.Value;
        IovaRange b = domain.AllocIova(1, Limit32, false)!.Value;
        domain.AllocIova(1, Limit32, false);

        domain.FreeIova(a.PfnLo);

        Assert.Equal(new IovaRange(IovaDomain.AnchorPfn, IovaDomain.AnchorPfn), domain.Cached32Node);
        Assert.Equal(a, domain.AllocIova(1, Limit32, false));
        domain.FreeIova(b.PfnLo);
        Assert.Equal(a, domain.Cached32Node); // b lay below the cached node, which stays
        Assert.Equal(b, domain.AllocIova(1, Limit32, false));
    }

    [Fact]
    public void FreeIova_AtOrAboveThe64BitCachedNode_MovesItUpSoTheHoleIsReused()
    {
        using IovaDomain domain = NewDomain();
        const ulong limit64 = (1UL << 40) - 1;
        IovaRange a = domain.AllocIova(1, limit64, false)!.Value;
        domain.AllocIova(1, limit64, false);
        IovaRange c = domain.AllocIova(1, limit64, false)!.Value;
        Assert.Equal(c, domain.CachedNode);

        domain.FreeIova(a.PfnLo);

        Assert.Equal(new IovaRange(IovaDomain.AnchorPfn, IovaDomain.AnchorPfn), domain.CachedNode);
        Assert.Equal(a, domain.AllocIova(1, limit64, false));
        Assert.Equal(new IovaRange(IovaDomain.AnchorPfn, IovaDomain.AnchorPfn), domain.Cached32Node); // never involved
    }

    [Fact]
    public void AllocIova_Exhausted_ReturnsNull()
    {
        using IovaDomain domain = NewDomain(startPfn: 0xFFF00);
        Assert.NotNull(domain.AllocIova(0x100, Limit32, false));

        Assert.Null(domain.AllocIova(1, Limit32, false));
        Assert.Null(domain.AllocIova(1, Limit32, true));
    }

    [Fact]
    public void FindIova_PfnInsideARange_ReturnsTheWholeRange()
    {
        using IovaDomain domain = NewDomain();
        IovaRange range = domain.AllocIova(5, Limit32, false)!.Value;

        Assert.Equal(range, domain.FindIova(range.PfnLo + 2));
        Assert.Null(domain.FindIova(range.PfnLo - 1));
        Assert.Null(domain.FindIova(IovaDomain.AnchorPfn)); // the anchor is not an allocation
    }

    [Fact]
    public void FreeIova_NotAllocated_Throws()
    {
        using IovaDomain domain = NewDomain();
        IovaRange range = domain.AllocIova(1, Limit32, false)!.Value;

        Assert.Throws<ArgumentException>(() => domain.FreeIova(range.PfnLo - 1));
        Assert.Throws<ArgumentException>(() => domain.FreeIova(IovaDomain.AnchorPfn));
        domain.FreeIova(range.PfnLo);
        Assert.Throws<ArgumentException>(() => domain.FreeIova(range.PfnLo));
    }

    [Fact]
    public void ReserveIova_Range_IsNeverAllocated()
    {
        using IovaDomain domain = NewDomain();
        Assert.Equal(new IovaRange(0xFFF00, 0xFFFFF), domain.ReserveIova(0xFFF00, 0xFFFFF));

        Assert.Equal(new IovaRange(0xFFEFF, 0xFFEFF), domain.AllocIova(1, Limit32, false));
        Assert.Equal(new IovaRange(0xFFE00, 0xFFE7F), domain.AllocIova(0x80, Limit32, true));
    }

    [Fact]
    public void ReserveIova_InsideAnExistingRange_ReturnsItUnchanged()
    {
        using IovaDomain domain = NewDomain();
        domain.ReserveIova(10, 20);

        Assert.Equal(new IovaRange(10, 20), domain.ReserveIova(12, 18));
        Assert.Equal(new[] { new IovaRange(10, 20) }, domain.Snapshot());
    }

    [Fact]
    public void ReserveIova_OverlappingBelow_StretchesTheExistingRangeDown()
    {
        using IovaDomain domain = NewDomain();
        domain.ReserveIova(10, 20);

        Assert.Equal(new IovaRange(5, 20), domain.ReserveIova(5, 12));
        Assert.Equal(new[] { new IovaRange(5, 20) }, domain.Snapshot());
        Assert.Null(domain.Validate()); // the index of ranges by first pfn moved with the stretch
    }

    [Fact]
    public void ReserveIova_OverlappingAbove_AddsARangeForTheRest()
    {
        using IovaDomain domain = NewDomain();
        domain.ReserveIova(10, 20);

        Assert.Equal(new IovaRange(21, 30), domain.ReserveIova(15, 30));
        Assert.Equal(new[] { new IovaRange(10, 20), new IovaRange(21, 30) }, domain.Snapshot());
    }

    [Fact]
    public void ReserveIova_SpanningTwoRanges_StretchesTheUpperOverTheGap()
    {
        using IovaDomain domain = NewDomain();
        domain.ReserveIova(10, 20);
        domain.ReserveIova(30, 40);

        Assert.Equal(new IovaRange(21, 40), domain.ReserveIova(15, 35));
        Assert.Equal(new[] { new IovaRange(10, 20), new IovaRange(21, 40) }, domain.Snapshot());
        Assert.Null(domain.Validate());
    }

    [Fact]
    public void ReserveIova_CoveringAnAllocation_StretchesItAndFreeingItReleasesTheWhole()
    {
        using IovaDomain domain = NewDomain();
        IovaRange a = domain.AllocIova(1, 100, false)!.Value; // pfn 100

        Assert.Equal(new IovaRange(101, 120), domain.ReserveIova(90, 120));
        Assert.Equal(new[] { new IovaRange(90, 100), new IovaRange(101, 120) }, domain.Snapshot());
        Assert.Null(domain.Validate());
        Assert.Throws<ArgumentException>(() => domain.FreeIovaFast(a.PfnLo, 1, 0)); // the range now starts at 90
        domain.FreeIova(a.PfnLo);
        Assert.Equal(new[] { new IovaRange(101, 120) }, domain.Snapshot());
        Assert.Null(domain.Validate());
    }

    [Fact]
    public void ReserveIova_BeyondTheAddressSpace_ReturnsNull()
    {
        using IovaDomain domain = NewDomain();

        Assert.Null(domain.ReserveIova(1UL << 52, 1UL << 52));
        Assert.Throws<ArgumentException>(() => domain.ReserveIova(20, 10));
        Assert.Empty(domain.Snapshot());
    }

    [Fact]
    public void Dispose_ThenAllocate_Throws()
    {
        IovaDomain domain = NewDomain();
        domain.Dispose();

        Assert.Throws<ObjectDisposedException>(() => domain.AllocIova(1, Limit32, false));
        Assert.Throws<ObjectDisposedException>(() => domain.AllocIovaFast(1, Limit32, false, 0));
    }
}
