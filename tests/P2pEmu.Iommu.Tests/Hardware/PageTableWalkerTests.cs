using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Iommu.Hardware;
using Xunit;

namespace P2pEmu.Iommu.Tests.Hardware;

public sealed class PageTableWalkerTests
{
    private const ulong KiB4 = 4096;

    [Fact]
    public void PageTableEntry_IsEightBytes() => Assert.Equal(8, Unsafe.SizeOf<PageTableEntry>());

    [Fact]
    public void PageTableEntry_Builders_SetTheDocumentedBits()
    {
        Assert.Equal(0x1234_5000UL | 0b111, PageTableEntry.Table(0x1234_5000).Value);
        Assert.Equal(0x20_0000UL | 0x80 | 0b011, PageTableEntry.Leaf(0x20_0000, IommuProt.Read, 2).Value);
        Assert.Equal(0x7000UL | 0b101, PageTableEntry.Leaf(0x7000, IommuProt.Write, 1).Value);
        Assert.Equal(IommuProt.Write, PageTableEntry.Leaf(0x7000, IommuProt.Write, 1).Permissions);
        Assert.Equal(1UL << 48, PageTableGeometry.MaxIova + 1);
        Assert.Equal((1UL << 12) | (1UL << 21) | (1UL << 30), PageTableGeometry.PageSizeBitmap);
    }

    [Theory]
    [InlineData(0x7001UL | 0x1000, 1, true)]
    [InlineData(0x7001UL | 0x100, 1, false)]
    [InlineData(0x7001UL | (1UL << 60), 2, false)]
    [InlineData(0x7001UL | 0x80, 1, false)]
    [InlineData(0x0001UL | 0x80, 4, false)]
    [InlineData(0x20_0001UL | 0x80, 2, true)]
    [InlineData(0x20_1001UL | 0x80, 2, false)]
    [InlineData(0x4000_0001UL | 0x80, 3, true)]
    [InlineData(0x4020_0001UL | 0x80, 3, false)]
    public void PageTableEntry_ReservedBits_DependOnTheLevel(ulong value, int level, bool valid) =>
        Assert.Equal(valid, new PageTableEntry(value).HasValidFormatAt(level));

    /// <summary>
    /// Differential test (STYLE R15): random maps and unmaps of every page size, checked against a reference model that
    /// keeps leaves in a dictionary and picks page sizes and unmaps the way <c>iommu_map</c>/<c>iommu_unmap</c> do.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Translate_AfterRandomMapsAndUnmaps_MatchesAReferenceModel(int seed)
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate), iotlbSets: 4, iotlbWays: 2);
        IommuDomain domain = m.DomainFor("a");
        var model = new ReferenceDomain();
        var random = new Random(seed);
        var probes = new List<ulong>();
        for (int op = 0; op < 80; op++)
        {
            int alignLevel = random.Next(1, 4);
            ulong iova = ((ulong)random.Next(0, 64) << 30)
                | (alignLevel <= 2 ? (ulong)random.Next(0, 512) << 21 : 0)
                | (alignLevel == 1 ? (ulong)random.Next(0, 512) << 12 : 0);
            ulong[] sizes = alignLevel == 3
                ? new[] { 1UL << 30, 2UL << 20, KiB4 }
                : new[] { KiB4, 3 * KiB4, 2UL << 20, (2UL << 20) + (5 * KiB4) };
            ulong size = sizes[random.Next(sizes.Length)];
            probes.Add(iova);
            probes.Add(iova + size - 1);
            probes.Add(iova + size);
            probes.Add(unchecked(iova - 1));
            if (random.Next(4) == 0)
            {
                Assert.Equal(model.Unmap(iova, size), domain.Unmap(new Iova(iova), size));
                continue;
            }

            ulong target = random.Next(2) == 0
                ? ((ulong)random.Next(0, 16) << 30) | (iova & ((1UL << 30) - 1))
                : (ulong)random.Next(1, 1 << 20) << 12;
            var prot = (IommuProt)random.Next(1, 4);
            Assert.Equal(model.Map(iova, target, size, prot), domain.Map(new Iova(iova), new BusAddress(target), size, prot));
        }

        for (int i = 0; i < 300; i++)
        {
            probes.Add(((ulong)random.Next(0, 64) << 30) | ((ulong)random.Next() & 0x3FFF_FFF8));
        }

        Assert.Equal(model.MappedBytes, domain.MappedBytes);
        foreach (ulong probe in probes)
        {
            ulong va = probe & PageTableGeometry.MaxIova;
            bool mapped = model.TryTranslate(va, out ulong want, out IommuProt prot);
            Assert.Equal(mapped ? want : 0, domain.IovaToPhys(new Iova(va)));
            foreach (AccessKind access in new[] { AccessKind.Read, AccessKind.Write })
            {
                IommuProt needed = access == AccessKind.Read ? IommuProt.Read : IommuProt.Write;
                bool ok = m.Unit.TryTranslate(m["a"], m["a"].Bdf, new DmaAddress(va), access, out BusAddress translated, out ulong contiguous);
                Assert.Equal(mapped && (prot & needed) != 0, ok);
                if (!ok)
                {
                    continue;
                }

                Assert.Equal(want, translated.Value);
                Assert.InRange(contiguous, 1UL, IoTlb.BlockBytes);
                for (ulong step = 0; step < contiguous; step += KiB4)
                {
                    Assert.True(model.TryTranslate(va + step, out ulong next, out IommuProt nextProt), $"the run covers unmapped 0x{va + step:x}");
                    Assert.Equal(want + step, next);
                    Assert.Equal(prot, nextProt);
                }
            }
        }
    }

    [Fact]
    public void TryWalk_TablesInAPeerBar_AreReadOverTheBus_AndUnreadableWhenTheBarStopsDecoding()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        PciBar bar = m.Bar("b");
        var walker = new PageTableWalker(m.Fabric);
        const ulong Base = 0x12_3456_7000;

        // Hand-built tables at BAR offsets 0 (root), 0x1000, 0x2000, 0x3000 (leaf table).
        for (int level = 4; level >= 2; level--)
        {
            ulong table = bar.Address + ((ulong)(4 - level) * KiB4);
            ulong next = table + KiB4;
            bar.Memory!.Write(table - bar.Address + (PageTableGeometry.EntryIndex(Base, level) * 8), PageTableEntry.Table(next).Value);
        }

        bar.Memory!.Write(0x3000 + (PageTableGeometry.EntryIndex(Base, 1) * 8), PageTableEntry.Leaf(0xA000, IommuProt.Read, 1).Value);

        Assert.True(walker.TryWalk(new BusAddress(bar.Address), new Iova(Base + 0x10), IommuProt.Read, out PageWalkResult walk));
        Assert.Equal(new BusAddress(0xA010), walk.Translate(new Iova(Base + 0x10)));
        Assert.Equal(new BusAddress(bar.Address + 0x3000), walk.LeafTable);
        Assert.False(walker.TryWalk(new BusAddress(bar.Address), new Iova(Base), IommuProt.Write, out walk));
        Assert.Equal(IommuFaultReason.PermissionDenied, walk.Fault);

        m["b"].Config.Write16(PciConfig.Command, PciConfig.CommandMaster);
        Assert.False(walker.TryWalk(new BusAddress(bar.Address), new Iova(Base), IommuProt.Read, out walk));
        Assert.Equal(IommuFaultReason.PageTableUnreadable, walk.Fault);
        Assert.Equal(4, walk.Level);
    }

    [Fact]
    public void Translate_PointerToUnclaimedAddress_FaultsPageTableUnreadableAtThatLevel()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.DomainFor("a");
        Assert.Equal(Errno.None, domain.Map(new Iova(0x4000_0000), new BusAddress(0x1000), KiB4, IommuProt.ReadWrite));

        // Corrupt the level-3 entry: point it at an address nothing claims.
        ulong level3 = ReadEntry(m, domain.RootTable.Value, 0x4000_0000, 4).Address;
        WriteEntry(m, level3, 0x4000_0000, 3, PageTableEntry.Table(FabricBuilder.Memory32End - 0x10_0000));

        Assert.False(m.Unit.TryTranslate(m["a"], m["a"].Bdf, new DmaAddress(0x4000_0000), AccessKind.Read, out _, out _));
        Assert.True(m.Unit.Faults.TryGetLast(out IommuFault fault));
        Assert.Equal(IommuFaultReason.PageTableUnreadable, fault.Reason);
        Assert.Equal(2, fault.Level);
    }

    [Fact]
    public void Translate_ReservedBitInALeaf_FaultsReservedBitsSet()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.DomainFor("a");
        Assert.Equal(Errno.None, domain.Map(new Iova(0x7000), new BusAddress(0x1000), KiB4, IommuProt.ReadWrite));
        ulong l3 = ReadEntry(m, domain.RootTable.Value, 0x7000, 4).Address;
        ulong l2 = ReadEntry(m, l3, 0x7000, 3).Address;
        ulong l1 = ReadEntry(m, l2, 0x7000, 2).Address;
        PageTableEntry leaf = ReadEntry(m, l1, 0x7000, 1);
        WriteEntry(m, l1, 0x7000, 1, new PageTableEntry(leaf.Value | (1UL << 62)));

        Assert.False(m.Unit.TryTranslate(m["a"], m["a"].Bdf, new DmaAddress(0x7000), AccessKind.Read, out _, out _));
        Assert.True(m.Unit.Faults.TryGetLast(out IommuFault fault));
        Assert.Equal(IommuFaultReason.ReservedBitsSet, fault.Reason);
        Assert.Equal(1, fault.Level);
    }

    [Fact]
    public void TryWalk_ReadOnlyTableAboveAWritableLeaf_DeniesWritesAtTheTableLevel()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.DomainFor("a");
        Assert.Equal(Errno.None, domain.Map(new Iova(0x7000), new BusAddress(0x1000), KiB4, IommuProt.ReadWrite));
        PageTableEntry top = ReadEntry(m, domain.RootTable.Value, 0x7000, 4);
        WriteEntry(m, domain.RootTable.Value, 0x7000, 4, new PageTableEntry(top.Value & ~PageTableEntry.WriteBit));
        var walker = new PageTableWalker(m.Fabric);

        Assert.False(walker.TryWalk(domain.RootTable, new Iova(0x7000), IommuProt.Write, out PageWalkResult walk));
        Assert.Equal(IommuFaultReason.PermissionDenied, walk.Fault);
        Assert.Equal(4, walk.Level);
        Assert.True(walker.TryWalk(domain.RootTable, new Iova(0x7000), IommuProt.Read, out walk));
        Assert.Equal(IommuProt.Read, walk.Permissions);
    }

    private static PageTableEntry ReadEntry(IommuMachine m, ulong table, ulong iova, int level)
    {
        byte[] raw = new byte[8];
        Assert.True(m.Fabric.TryHostRead(table + (PageTableGeometry.EntryIndex(iova, level) * 8), raw));
        return new PageTableEntry(BitConverter.ToUInt64(raw));
    }

    private static void WriteEntry(IommuMachine m, ulong table, ulong iova, int level, PageTableEntry entry) =>
        Assert.True(m.Fabric.TryHostWrite(table + (PageTableGeometry.EntryIndex(iova, level) * 8), BitConverter.GetBytes(entry.Value)));
}
