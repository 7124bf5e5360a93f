using System;
using System.Linq;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;
using Xunit;
using DmaBuffer = P2pEmu.Dma.DmaBuf.DmaBuf;

namespace P2pEmu.Dma.Tests.DmaBuf;

/// <summary>Spec §3.3, with the worked example's ranges: offset 0 length 0x10000, offset 0x100000 length 0x2000.</summary>
public sealed class DmaBufPhysVecToSgtTests
{
    private const ulong Total = 0x12000;

    private static readonly DmaBufAttachOps s_importer = new() { AllowPeer2Peer = true, MoveNotify = _ => { } };

    private static PhysVec[] Ranges(DmaBufMachine m) =>
        new[] { new PhysVec(m.ExpBar.Address, 0x10000), new PhysVec(m.ExpBar.Address + 0x100000, 0x2000) };

    private static (DmaBuffer DmaBuf, DmaBufAttachment Attach) Attach(DmaBufMachine m, string importer)
    {
        DmaBuffer dmabuf = new FakeExporter().Export(m.Host, Total);
        return (dmabuf, m.Host.DmaBufDynamicAttach(dmabuf, m.Dev(importer), s_importer, null).Value);
    }

    private static Result<SgTable> Map(DmaBufMachine m, DmaBufAttachment attach, PhysVec[] ranges, ulong size, P2pProvider? provider)
    {
        attach.DmaBuf.Resv.Lock();
        try
        {
            return m.Host.DmaBufPhysVecToSgt(attach, provider, ranges, size, DmaDirection.Bidirectional);
        }
        finally
        {
            attach.DmaBuf.Resv.Unlock();
        }
    }

    private static void Free(DmaBufMachine m, DmaBufAttachment attach, SgTable table)
    {
        attach.DmaBuf.Resv.Lock();
        Assert.Equal(Errno.None, m.Host.DmaBufFreeSgt(attach, table, DmaDirection.Bidirectional));
        attach.DmaBuf.Resv.Unlock();
    }

    /// <summary>Writes a pattern through the table from the importer and checks it landed in the two BAR ranges.</summary>
    private static void AssertDmaLandsInTheRanges(DmaBufMachine m, string importer, SgTable table, int seed)
    {
        byte[] data = new byte[Total];
        new Random(seed).NextBytes(data);
        DmaResult written = new DmaPort(m.Machine.Fabric, m.Machine.Fabric[importer]).Write(table.DmaSegments().ToArray(), data);
        Assert.True(written.IsSuccess, written.ToString());
        Assert.Equal(data.AsSpan(0, 0x10000).ToArray(), m.ExpBar.Memory!.GetSpan(0, 0x10000).ToArray());
        Assert.Equal(data.AsSpan(0x10000, 0x2000).ToArray(), m.ExpBar.Memory!.GetSpan(0x100000, 0x2000).ToArray());
    }

    [Fact]
    public void BusAddr_KeepsEachRangesBusAddress_NoIova_AndTheTableHasNoCpuSide()
    {
        using var m = new DmaBufMachine(IommuMode.Translate);
        (_, DmaBufAttachment attach) = Attach(m, "near");
        ulong mappedBefore = m.Dev("near").IommuDomain!.MappedBytes;

        SgTable table = Map(m, attach, Ranges(m), Total, m.Provider()).Value;

        Assert.Equal(PciP2pdmaMapType.BusAddr, m.Machine.P2pDma.Explain(m.Exp, m.Machine.Fabric["near"]).MapType);
        Assert.Equal(0, table.OrigNents);
        Assert.True(table.IsDmaOnly);
        Assert.Equal(
            new[] { new SgEntry(new(m.ExpBar.Address), 0x10000), new SgEntry(new(m.ExpBar.Address + 0x100000), 0x2000) },
            table.DmaSegments());
        Assert.All(table.Entries, e => Assert.Equal(0U, e.Length));
        Assert.Equal(mappedBefore, m.Dev("near").IommuDomain!.MappedBytes);
        AssertDmaLandsInTheRanges(m, "near", table, 1);
        Free(m, attach, table);
    }

    [Fact]
    public void ThruHostBridge_WithAnIommu_IsOneContiguousIovaRun_InRangeOrder_AndFreeUnmapsIt()
    {
        using var m = new DmaBufMachine(IommuMode.Translate);
        (_, DmaBufAttachment attach) = Attach(m, "thru");
        DmaDevice dev = m.Dev("thru");
        ulong mappedBefore = dev.IommuDomain!.MappedBytes;

        SgTable table = Map(m, attach, Ranges(m), Total, m.Provider()).Value;

        Assert.Equal(PciP2pdmaMapType.ThruHostBridge, m.Machine.P2pDma.Explain(m.Exp, m.Machine.Fabric["thru"]).MapType);
        SgEntry run = Assert.Single(table.DmaSegments());
        Assert.Equal(Total, run.Length);
        Assert.False(m.Machine.Fabric.HostBridges[0].WindowContains(run.Address.Value));
        Assert.Equal(mappedBefore + Total, dev.IommuDomain.MappedBytes);
        AssertDmaLandsInTheRanges(m, "thru", table, 2);

        Free(m, attach, table);

        Assert.Equal(mappedBefore, dev.IommuDomain.MappedBytes);
        FabricSnapshot before = FabricSnapshot.FillAndCapture(m.Machine.Fabric, 4096, 3);
        DmaResult late = new DmaPort(m.Machine.Fabric, m.Machine.Fabric["thru"]).Write(run.Address, new byte[64]);
        Assert.Equal(RouteStatus.IommuFault, late.Status);
        Assert.Empty(before.ChangedOutside(null, 0, 0));
    }

    [Fact]
    public void ThruHostBridge_WithoutAnIommu_MapsEachRangeAtItsCpuPhysicalAddress()
    {
        using var m = new DmaBufMachine(IommuMode.Off);
        (_, DmaBufAttachment attach) = Attach(m, "thru");

        SgTable table = Map(m, attach, Ranges(m), Total, m.Provider()).Value;

        Assert.Equal(Ranges(m).Select(r => new SgEntry(new(r.Paddr), r.Len)), table.DmaSegments());
        AssertDmaLandsInTheRanges(m, "thru", table, 4);
        Free(m, attach, table);
    }

    [Fact]
    public void NotSupported_ReturnsEinval()
    {
        using var m = new DmaBufMachine(IommuMode.Translate, allowListed: false);
        (_, DmaBufAttachment attach) = Attach(m, "thru");

        Assert.Equal(Errno.EINVAL, Map(m, attach, Ranges(m), Total, m.Provider()).Error);

        Assert.Equal(PciP2pdmaMapType.NotSupported, m.Machine.P2pDma.Explain(m.Exp, m.Machine.Fabric["thru"]).MapType);
    }

    [Fact]
    public void NoProvider_ReturnsEinvalAndWarns()
    {
        using var m = new DmaBufMachine();
        (_, DmaBufAttachment attach) = Attach(m, "near");

        Assert.Equal(Errno.EINVAL, Map(m, attach, Ranges(m), Total, null).Error);

        Assert.Equal(DmaBufViolationKind.NoProvider, Assert.Single(m.Host.Violations).Kind);
    }

    [Fact]
    public void WithoutTheResv_ReturnsEnolck_AndFreeToo()
    {
        using var m = new DmaBufMachine();
        (_, DmaBufAttachment attach) = Attach(m, "near");
        SgTable table = Map(m, attach, Ranges(m), Total, m.Provider()).Value;

        Assert.Equal(Errno.ENOLCK, m.Host.DmaBufPhysVecToSgt(attach, m.Provider(), Ranges(m), Total, DmaDirection.ToDevice).Error);
        Assert.Equal(Errno.ENOLCK, m.Host.DmaBufFreeSgt(attach, table, DmaDirection.Bidirectional));

        Assert.Equal(new[] { "dma_buf_phys_vec_to_sgt", "dma_buf_free_sgt" }, m.Host.Violations.Select(v => v.Function));
        Free(m, attach, table);
        Assert.Throws<ArgumentException>(() => Free(m, attach, table));
    }

    [Fact]
    public void RunsLongerThanUintMax_AreSplitIntoChunks()
    {
        using var m = new DmaBufMachine();
        (_, DmaBufAttachment attach) = Attach(m, "near");
        const ulong fiveGiB = 5UL << 30;
        var ranges = new[] { new PhysVec(0x40_0000_0000, fiveGiB), new PhysVec(0x50_0000_0000, 0x1000) };

        SgTable table = Map(m, attach, ranges, fiveGiB + 0x1000, m.Provider()).Value;

        Assert.Equal(
            new[]
            {
                new SgEntry(new(0x40_0000_0000), uint.MaxValue),
                new SgEntry(new(0x40_0000_0000 + (ulong)uint.MaxValue), fiveGiB - uint.MaxValue),
                new SgEntry(new(0x50_0000_0000), 0x1000),
            },
            table.DmaSegments());
    }

    [Fact]
    public void ThruHostBridge_ALinkFails_LeavesNothingMapped()
    {
        using var m = new DmaBufMachine(IommuMode.Translate);
        (_, DmaBufAttachment attach) = Attach(m, "thru");
        DmaDevice dev = m.Dev("thru");
        ulong mappedBefore = dev.IommuDomain!.MappedBytes;
        var ranges = new[] { new PhysVec(m.ExpBar.Address, 0x1000), new PhysVec(m.ExpBar.Address + 0x2800, 0x1000) };

        Assert.Equal(Errno.EINVAL, Map(m, attach, ranges, 0x2000, m.Provider()).Error);

        Assert.Equal(mappedBefore, dev.IommuDomain.MappedBytes);
    }
}
