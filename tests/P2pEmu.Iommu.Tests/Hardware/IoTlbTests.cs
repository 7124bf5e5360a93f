using System;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Iommu.Hardware;
using Xunit;

namespace P2pEmu.Iommu.Tests.Hardware;

public sealed class IoTlbTests
{
    private const ulong Block = IoTlb.BlockBytes;

    private const ulong Page = 4096;

    private static void Fill(IoTlb tlb, int domain, ulong start, ulong length, ulong target, IommuProt prot = IommuProt.ReadWrite, ulong? lookup = null) =>
        Assert.True(tlb.TryFill(domain, new Iova(lookup ?? start), new Iova(start), length, new BusAddress(target), prot, tlb.Generation));

    private static bool Hit(IoTlb tlb, int domain, ulong iova, IommuProt required = IommuProt.Read) =>
        tlb.TryLookup(domain, new Iova(iova), required, out _, out _);

    [Fact]
    public void TryLookup_AfterFill_HitsTheRunFromThePageThatMissed_AndCounts()
    {
        var tlb = new IoTlb();
        Fill(tlb, 1, 0x1_2000, 0x3000, 0xA000, lookup: 0x1_3010);

        Assert.True(tlb.TryLookup(1, new Iova(0x1_3010), IommuProt.Write, out BusAddress translated, out ulong contiguous));
        Assert.Equal(new BusAddress(0xB010), translated);
        Assert.Equal(0x1FF0UL, contiguous);
        Assert.True(Hit(tlb, 1, 0x1_3FFF));
        Assert.False(Hit(tlb, 1, 0x1_1FFF));
        Assert.False(Hit(tlb, 1, 0x1_5000));
        Assert.False(Hit(tlb, 2, 0x1_3010));
        Assert.Equal(2, tlb.Hits);
        Assert.Equal(3, tlb.Misses);
        Assert.Equal(1, tlb.Fills);
    }

    [Fact]
    public void TryLookup_AccessTheEntryDoesNotAllow_Misses()
    {
        var tlb = new IoTlb();
        Fill(tlb, 1, 0x1000, 0x1000, 0xA000, IommuProt.Read);

        Assert.True(Hit(tlb, 1, 0x1000, IommuProt.Read));
        Assert.False(Hit(tlb, 1, 0x1000, IommuProt.Write));
    }

    [Fact]
    public void TryFill_MoreRunsThanCapacity_StaysBounded_AndEvictsRoundRobin()
    {
        var tlb = new IoTlb(sets: 4, ways: 2);
        for (ulong page = 0; page < 32; page++)
        {
            Fill(tlb, 1, page * Page, Page, page * 0x1000);
        }

        Assert.Equal(8, tlb.Capacity);
        Assert.Equal(8, tlb.ValidEntryCount);
        Assert.False(Hit(tlb, 1, 0));
        Assert.True(Hit(tlb, 1, 31 * Page));
        Assert.True(Hit(tlb, 1, 24 * Page));
        Assert.False(Hit(tlb, 1, 23 * Page));
    }

    [Fact]
    public void TryFill_OverlappingRunOfTheSameDomain_ReplacesIt()
    {
        var tlb = new IoTlb(sets: 1, ways: 4);
        Fill(tlb, 1, 0x2000, 0x1000, 0xA000);
        Fill(tlb, 1, 0x1000, 0x3000, 0xB000);

        Assert.Equal(1, tlb.ValidEntryCount);
        Assert.True(tlb.TryLookup(1, new Iova(0x2000), IommuProt.Read, out BusAddress translated, out _));
        Assert.Equal(new BusAddress(0xC000), translated);
    }

    [Fact]
    public void InvalidateRange_RemovesOverlappingRunsOfThatDomainOnly_WhereverTheyAreCached()
    {
        var tlb = new IoTlb();

        // Cached in the set of page 0x10, invalidated through page 0x13: the invalidation must find it anyway.
        Fill(tlb, 1, 0x1_0000, 0x4000, 0xA000);
        Fill(tlb, 1, 0x1_8000, 0x1000, 0xF000);
        Fill(tlb, 2, 0x1_0000, 0x4000, 0xA000);

        tlb.InvalidateRange(1, new Iova(0x1_3000), 0x1000);

        Assert.False(Hit(tlb, 1, 0x1_0000));
        Assert.True(Hit(tlb, 1, 0x1_8000));
        Assert.True(Hit(tlb, 2, 0x1_0000));
        Assert.Equal(1, tlb.Invalidations);
    }

    [Fact]
    public void InvalidateRange_LargerThanTheCache_ScansEverySet()
    {
        var tlb = new IoTlb(sets: 4, ways: 4);
        Fill(tlb, 1, 0x10 * Block, 0x1000, 0);
        Fill(tlb, 1, 0x11 * Block, 0x1000, 0);
        Fill(tlb, 1, 0x40 * Block, 0x1000, 0);

        tlb.InvalidateRange(1, new Iova(0x10 * Block), 0x20 * Block);

        Assert.False(Hit(tlb, 1, 0x10 * Block));
        Assert.False(Hit(tlb, 1, 0x11 * Block));
        Assert.True(Hit(tlb, 1, 0x40 * Block));
    }

    [Fact]
    public void InvalidateDomain_AndInvalidateAll_DropWhatTheySay()
    {
        var tlb = new IoTlb();
        Fill(tlb, 1, 0x1000, 0x1000, 0);
        Fill(tlb, 2, 0x1000, 0x1000, 0);
        Fill(tlb, 3, 0x1000, 0x1000, 0);

        tlb.InvalidateDomain(2);
        Assert.True(Hit(tlb, 1, 0x1000));
        Assert.False(Hit(tlb, 2, 0x1000));
        Assert.True(Hit(tlb, 3, 0x1000));

        tlb.InvalidateAll();
        Assert.Equal(0, tlb.ValidEntryCount);
        Assert.Equal(2, tlb.Invalidations);
    }

    /// <summary>A walk that began before an invalidation must not leave its (possibly stale) result in the cache.</summary>
    [Fact]
    public void TryFill_WithGenerationFromBeforeAnInvalidation_IsDropped()
    {
        var tlb = new IoTlb();
        long generation = tlb.Generation;
        tlb.InvalidateRange(1, new Iova(0x8000), 0x1000);

        Assert.False(tlb.TryFill(1, new Iova(0x8000), new Iova(0x8000), 0x1000, new BusAddress(0xA000), IommuProt.Read, generation));
        Assert.Equal(0, tlb.ValidEntryCount);
        Assert.False(Hit(tlb, 1, 0x8000));
    }

    [Theory]
    [InlineData(0x1000UL, 0UL, 0x1000UL)]
    [InlineData(0x1800UL, 0x1000UL, 0x1800UL)]
    [InlineData(0xF000UL, 0x2000UL, 0xF000UL)]
    [InlineData(0x1000UL, 0x1000UL, 0x2000UL)]
    public void TryFill_RunNotWholePagesInsideOneBlockAroundTheLookup_Throws(ulong start, ulong length, ulong lookup)
    {
        var tlb = new IoTlb();
        Assert.Throws<ArgumentOutOfRangeException>(() => tlb.TryFill(1, new Iova(lookup), new Iova(start), length, default, IommuProt.Read, tlb.Generation));
    }

    [Theory]
    [InlineData(3, 4)]
    [InlineData(0, 4)]
    [InlineData(4, 0)]
    [InlineData(4, 17)]
    public void New_BadGeometry_Throws(int sets, int ways) => Assert.Throws<ArgumentOutOfRangeException>(() => new IoTlb(sets, ways));
}
