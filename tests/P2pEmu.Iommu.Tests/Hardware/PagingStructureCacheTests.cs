using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Topology;
using P2pEmu.Iommu.Hardware;
using Xunit;

namespace P2pEmu.Iommu.Tests.Hardware;

/// <summary>
/// The IOMMU's paging-structure cache (VT-d's PDE cache): what it keeps, when a miss uses it, and which invalidations
/// drop it, in the IOTLB alone and through device DMA.
/// </summary>
public sealed class PagingStructureCacheTests
{
    private const ulong KiB4 = 4096;
    private const ulong MiB2 = 2UL << 20;

    // Two 4 KiB pages of one 2 MiB region, far enough apart that no IOTLB run joins them.
    private const ulong Region = 0x4000_0000;
    private const ulong FirstIova = Region + 0x1_0000;
    private const ulong SecondIova = Region + 0x8_0000;

    [Fact]
    public void TryLookupTable_AfterFill_AnswersTheRegionOfItsDomainOnly()
    {
        var tlb = new IoTlb();

        Assert.True(tlb.TryFillTable(3, new Iova(FirstIova), new BusAddress(0x7000), IommuProt.Read, tlb.Generation));

        Assert.True(tlb.TryLookupTable(3, new Iova(Region + MiB2 - KiB4), IommuProt.Read, out BusAddress table, out IommuProt prot));
        Assert.Equal(0x7000UL, table.Value);
        Assert.Equal(IommuProt.Read, prot);
        Assert.False(tlb.TryLookupTable(3, new Iova(FirstIova), IommuProt.Write, out _, out _));
        Assert.False(tlb.TryLookupTable(4, new Iova(FirstIova), IommuProt.Read, out _, out _));
        Assert.False(tlb.TryLookupTable(3, new Iova(Region + MiB2), IommuProt.Read, out _, out _));
        Assert.Equal(1, tlb.TableHits);
        Assert.Equal(1, tlb.TableFills);
        Assert.Equal(1, tlb.ValidTableEntryCount);
    }

    [Fact]
    public void TryFillTable_OfARegionAlreadyCached_ReplacesIt_EvenWithAnEmptyWayBeforeIt()
    {
        var tlb = new IoTlb();
        const ulong SameSet = Region + (16 * MiB2); // 16 regions on: the same set of the 16
        tlb.TryFillTable(3, new Iova(SameSet), new BusAddress(0x6000), IommuProt.ReadWrite, tlb.Generation);
        tlb.TryFillTable(3, new Iova(FirstIova), new BusAddress(0x7000), IommuProt.Read, tlb.Generation);
        tlb.InvalidateRange(3, new Iova(SameSet), KiB4); // empties the first way
        Assert.Equal(1, tlb.ValidTableEntryCount);

        Assert.True(tlb.TryFillTable(3, new Iova(SecondIova), new BusAddress(0x7000), IommuProt.ReadWrite, tlb.Generation));

        Assert.Equal(1, tlb.ValidTableEntryCount);
        Assert.True(tlb.TryLookupTable(3, new Iova(FirstIova), IommuProt.Write, out _, out IommuProt prot));
        Assert.Equal(IommuProt.ReadWrite, prot);
    }

    [Fact]
    public void TryFillTable_AfterAnInvalidationSinceTheWalkBegan_IsDropped()
    {
        var tlb = new IoTlb();
        long generation = tlb.Generation;
        tlb.InvalidateRange(3, new Iova(0x1_0000_0000), KiB4);

        Assert.False(tlb.TryFillTable(3, new Iova(FirstIova), new BusAddress(0x7000), IommuProt.ReadWrite, generation));
        Assert.False(tlb.TryLookupTable(3, new Iova(FirstIova), IommuProt.Read, out _, out _));
        Assert.Equal(0, tlb.TableFills);
    }

    [Fact]
    public void InvalidateRange_WithTheLeafOnlyHint_KeepsRegions_WithoutItDropsTheOverlappedOnes()
    {
        var tlb = new IoTlb();
        tlb.TryFillTable(3, new Iova(FirstIova), new BusAddress(0x7000), IommuProt.ReadWrite, tlb.Generation);
        tlb.TryFillTable(3, new Iova(Region + MiB2), new BusAddress(0x8000), IommuProt.ReadWrite, tlb.Generation);

        tlb.InvalidateRange(3, new Iova(FirstIova), KiB4, leafOnly: true);
        Assert.Equal(2, tlb.ValidTableEntryCount);

        tlb.InvalidateRange(4, new Iova(FirstIova), KiB4);
        Assert.Equal(2, tlb.ValidTableEntryCount);

        tlb.InvalidateRange(3, new Iova(FirstIova), KiB4);
        Assert.False(tlb.TryLookupTable(3, new Iova(FirstIova), IommuProt.Read, out _, out _));
        Assert.True(tlb.TryLookupTable(3, new Iova(Region + MiB2), IommuProt.Read, out _, out _));
    }

    [Fact]
    public void InvalidateDomainAndAll_DropTheirRegions()
    {
        var tlb = new IoTlb();
        tlb.TryFillTable(3, new Iova(FirstIova), new BusAddress(0x7000), IommuProt.ReadWrite, tlb.Generation);
        tlb.TryFillTable(5, new Iova(FirstIova), new BusAddress(0x9000), IommuProt.ReadWrite, tlb.Generation);

        tlb.InvalidateDomain(3);
        Assert.False(tlb.TryLookupTable(3, new Iova(FirstIova), IommuProt.Read, out _, out _));
        Assert.True(tlb.TryLookupTable(5, new Iova(FirstIova), IommuProt.Read, out _, out _));

        tlb.InvalidateAll();
        Assert.Equal(0, tlb.ValidTableEntryCount);
    }

    [Fact]
    public void Miss_InARegionWalkedBefore_StartsAtTheCachedLeafTable_UntilAnInvalidationWithoutTheHint()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.DomainFor("a");
        Assert.Equal(Errno.None, domain.Map(new Iova(FirstIova), new BusAddress(0x9000), KiB4, IommuProt.ReadWrite));
        Assert.Equal(Errno.None, domain.Map(new Iova(SecondIova), new BusAddress(0x20000), KiB4, IommuProt.ReadWrite));
        DmaPort port = m.Port("a");
        Assert.True(port.Write(new DmaAddress(FirstIova), [1, 2, 3]).IsSuccess);
        Assert.Equal(1, m.Unit.IoTlb.TableFills);

        // Software breaks the root entry behind the IOMMU's back: a walk from the root now faults at level 4, but the
        // cached region still leads straight to the leaf table, as on hardware.
        ulong rootEntry = EntryAddress(m.Fabric, domain, SecondIova, PageTableGeometry.Levels);
        Assert.True(m.Fabric.TryHostRead64(rootEntry, out ulong saved));
        Assert.True(m.Fabric.TryHostWrite64(rootEntry, 0));

        Assert.True(port.Write(new DmaAddress(SecondIova), [4, 5, 6]).IsSuccess);
        Assert.Equal(new byte[] { 4, 5, 6 }, m.Ram(0x20000, 3));
        Assert.Equal(1, m.Unit.IoTlb.TableHits);

        // A page-selective invalidation without the hint (a table entry changed) drops the region and the leaf.
        m.Unit.IoTlb.InvalidateRange(domain.Id, new Iova(SecondIova), KiB4);
        DmaResult faulted = port.Write(new DmaAddress(SecondIova), [7]);

        Assert.False(faulted.IsSuccess);
        IommuFault fault = Assert.Single(m.Unit.Faults.Snapshot());
        Assert.Equal(IommuFaultReason.NotPresent, fault.Reason);
        Assert.Equal(PageTableGeometry.Levels, fault.Level);
        Assert.True(m.Fabric.TryHostWrite64(rootEntry, saved));
    }

    [Fact]
    public void Miss_NeedingAnAccessTheCachedTablesDoNotAllow_WalksFromTheRoot_AndFaultsWhereTheFullWalkDoes()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.DomainFor("a");
        Assert.Equal(Errno.None, domain.Map(new Iova(FirstIova), new BusAddress(0x9000), KiB4, IommuProt.ReadWrite));
        Assert.Equal(Errno.None, domain.Map(new Iova(SecondIova), new BusAddress(0x20000), KiB4, IommuProt.ReadWrite));

        // The level-2 entry (pointing to the leaf table) allows reads only.
        ulong pde = EntryAddress(m.Fabric, domain, FirstIova, level: 2);
        Assert.True(m.Fabric.TryHostRead64(pde, out ulong raw));
        Assert.True(m.Fabric.TryHostWrite64(pde, raw & ~PageTableEntry.WriteBit));
        DmaPort port = m.Port("a");
        Assert.True(port.Read(new DmaAddress(FirstIova), new byte[8]).IsSuccess);
        Assert.True(m.Unit.IoTlb.TryLookupTable(domain.Id, new Iova(SecondIova), IommuProt.Read, out _, out IommuProt cached));
        Assert.Equal(IommuProt.Read, cached);
        long hits = m.Unit.IoTlb.TableHits;

        DmaResult result = port.Write(new DmaAddress(SecondIova), [1]);

        Assert.False(result.IsSuccess);
        IommuFault fault = Assert.Single(m.Unit.Faults.Snapshot());
        Assert.Equal(IommuFaultReason.PermissionDenied, fault.Reason);
        Assert.Equal(2, fault.Level);
        Assert.Equal(hits, m.Unit.IoTlb.TableHits);
    }

    [Fact]
    public void StrictUnmap_KeepsTheRegionWhenNoTableWasFreed_AndDropsItWhenOneWas()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.DomainFor("a");

        // 4 KiB leaves over the whole region (the target is not 2 MiB aligned, so no large page).
        Assert.Equal(Errno.None, domain.Map(new Iova(Region), new BusAddress(0x1000), MiB2, IommuProt.ReadWrite));
        DmaPort port = m.Port("a");
        Assert.True(port.Write(new DmaAddress(FirstIova), [1]).IsSuccess);
        Assert.Equal(1, m.Unit.IoTlb.ValidTableEntryCount);

        Assert.Equal(KiB4, domain.Unmap(new Iova(SecondIova), KiB4));
        Assert.Equal(1, m.Unit.IoTlb.ValidTableEntryCount);

        int tables = domain.PageTableCount;
        Assert.Equal(MiB2 - KiB4, domain.Unmap(new Iova(Region), SecondIova - Region) + domain.Unmap(new Iova(SecondIova + KiB4), Region + MiB2 - SecondIova - KiB4));
        Assert.Equal(tables, domain.PageTableCount); // leaves cleared in pieces free no table
        Assert.Equal(1, m.Unit.IoTlb.ValidTableEntryCount);

        Assert.Equal(Errno.None, domain.Map(new Iova(Region), new BusAddress(0x1000), MiB2, IommuProt.ReadWrite));
        Assert.Equal(MiB2, domain.Unmap(new Iova(Region), MiB2));
        Assert.Equal(tables - 1, domain.PageTableCount);
        Assert.Equal(0, m.Unit.IoTlb.ValidTableEntryCount);

        // Mapped again, the region walks its new leaf table.
        Assert.Equal(Errno.None, domain.Map(new Iova(Region), new BusAddress(0x30_1000), MiB2, IommuProt.ReadWrite));
        Assert.True(port.Write(new DmaAddress(FirstIova), [9, 8]).IsSuccess);
        Assert.Equal(new byte[] { 9, 8 }, m.Ram(0x30_1000 + (FirstIova - Region), 2));
    }

    [Fact]
    public void IotlbSync_AfterUnmapFastFreedATable_FlushesTheDomain_ElseKeepsTheRegion()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.DomainFor("a");
        Assert.Equal(Errno.None, domain.Map(new Iova(Region), new BusAddress(0x1000), MiB2, IommuProt.ReadWrite));
        DmaPort port = m.Port("a");
        Assert.True(port.Write(new DmaAddress(FirstIova), [1]).IsSuccess);

        var gather = default(IommuIotlbGather);
        domain.UnmapFast(new Iova(SecondIova), KiB4, ref gather, null);
        domain.IotlbSync(ref gather);
        Assert.Equal(1, m.Unit.IoTlb.ValidTableEntryCount);
        Assert.Equal(1, m.Unit.IoTlb.ValidEntryCount); // the first page's run, outside the range

        Assert.Equal(Errno.None, domain.Map(new Iova(SecondIova), new BusAddress(0x1000 + (SecondIova - Region)), KiB4, IommuProt.ReadWrite));
        Assert.Equal(MiB2, domain.UnmapFast(new Iova(Region), MiB2, ref gather, null));
        domain.IotlbSync(ref gather);
        Assert.Equal(0, m.Unit.IoTlb.ValidTableEntryCount);
        Assert.Equal(0, m.Unit.IoTlb.ValidEntryCount);
    }

    [Fact]
    public void FlushIotlbAll_TheFlushQueuesBatchInvalidation_DropsTheDomainsRegions()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.DomainFor("a");
        Assert.Equal(Errno.None, domain.Map(new Iova(FirstIova), new BusAddress(0x9000), KiB4, IommuProt.ReadWrite));
        Assert.True(m.Port("a").Write(new DmaAddress(FirstIova), [1]).IsSuccess);
        Assert.Equal(1, m.Unit.IoTlb.ValidTableEntryCount);

        domain.FlushIotlbAll();

        Assert.Equal(0, m.Unit.IoTlb.ValidTableEntryCount);
    }

    /// <summary>The address of the entry for <paramref name="iova"/> at <paramref name="level"/>, walking from the root.</summary>
    private static ulong EntryAddress(PcieFabric fabric, IommuDomain domain, ulong iova, int level)
    {
        ulong table = domain.RootTable.Value;
        for (int l = PageTableGeometry.Levels; l > level; l--)
        {
            Assert.True(fabric.TryHostRead64(table + (PageTableGeometry.EntryIndex(iova, l) * PageTableGeometry.EntryBytes), out ulong raw));
            table = new PageTableEntry(raw).Address;
        }

        return table + (PageTableGeometry.EntryIndex(iova, level) * PageTableGeometry.EntryBytes);
    }
}
