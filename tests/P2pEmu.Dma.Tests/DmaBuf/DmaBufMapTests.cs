using System;
using System.Collections.Generic;
using System.Threading;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Dma.Mapping;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;
using Xunit;
using DmaBuffer = P2pEmu.Dma.DmaBuf.DmaBuf;

namespace P2pEmu.Dma.Tests.DmaBuf;

public sealed class DmaBufMapTests
{
    private static readonly DmaBufAttachOps s_importer = new() { AllowPeer2Peer = true, MoveNotify = _ => { } };

    [Fact]
    public void DmaBufMapAttachment_WithoutTheResv_ReturnsEnolck_AndCallsNoExporterOp()
    {
        using var m = new DmaBufMachine();
        var exporter = new FakeExporter();
        DmaBuffer dmabuf = exporter.Export(m.Host);
        DmaBufAttachment attach = m.Host.DmaBufDynamicAttach(dmabuf, m.Dev("near"), s_importer, null).Value;

        Assert.Equal(Errno.ENOLCK, m.Host.DmaBufMapAttachment(attach, DmaDirection.ToDevice).Error);

        Assert.DoesNotContain("map", exporter.Calls);
        DmaBufViolation violation = Assert.Single(m.Host.Violations);
        Assert.Equal(("dma_buf_map_attachment", DmaBufViolationKind.LockNotHeld), (violation.Function, violation.Kind));
    }

    [Fact]
    public void DmaBufMapAttachment_WithTheResv_MapsLocked_AndUnmapGivesTheTableBack()
    {
        using var m = new DmaBufMachine();
        var exporter = new FakeExporter();
        DmaBuffer dmabuf = exporter.Export(m.Host);
        DmaBufAttachment attach = m.Host.DmaBufDynamicAttach(dmabuf, m.Dev("near"), s_importer, null).Value;
        dmabuf.Resv.Lock();

        SgTable table = m.Host.DmaBufMapAttachment(attach, DmaDirection.ToDevice).Value;

        Assert.Equal(1, attach.MappedTables);
        Assert.Equal(1, dmabuf.MappedTables);
        Assert.True(exporter.LockHeld["map"]);
        Assert.Equal(Errno.None, m.Host.DmaBufUnmapAttachment(attach, table, DmaDirection.ToDevice));
        Assert.True(exporter.LockHeld["unmap"]);
        Assert.Equal(0, attach.MappedTables);
        Assert.Throws<ArgumentException>(() => m.Host.DmaBufUnmapAttachment(attach, table, DmaDirection.ToDevice));
        dmabuf.Resv.Unlock();
        Assert.Empty(m.Host.Violations);
    }

    [Fact]
    public void DmaBufUnmapAttachment_WithoutTheResv_ReturnsEnolckAndKeepsTheMapping()
    {
        using var m = new DmaBufMachine();
        var exporter = new FakeExporter();
        DmaBuffer dmabuf = exporter.Export(m.Host);
        DmaBufAttachment attach = m.Host.DmaBufDynamicAttach(dmabuf, m.Dev("near"), s_importer, null).Value;
        SgTable table = m.Host.DmaBufMapAttachmentUnlocked(attach, DmaDirection.ToDevice).Value;

        Assert.Equal(Errno.ENOLCK, m.Host.DmaBufUnmapAttachment(attach, table, DmaDirection.ToDevice));

        Assert.Equal(1, attach.MappedTables);
        Assert.DoesNotContain("unmap", exporter.Calls);
        Assert.Equal(Errno.None, m.Host.DmaBufUnmapAttachmentUnlocked(attach, table, DmaDirection.ToDevice));
        Assert.Equal(0, attach.MappedTables);
        Assert.False(dmabuf.Resv.IsLocked);
    }

    [Fact]
    public void UnlockedVariants_WithTheResvHeld_ReturnEdeadlk()
    {
        using var m = new DmaBufMachine();
        var exporter = new FakeExporter();
        DmaBuffer dmabuf = exporter.Export(m.Host);
        DmaBufAttachment attach = m.Host.DmaBufDynamicAttach(dmabuf, m.Dev("near"), s_importer, null).Value;
        dmabuf.Resv.Lock();
        SgTable table = m.Host.DmaBufMapAttachment(attach, DmaDirection.ToDevice).Value;

        Assert.Equal(Errno.EDEADLK, m.Host.DmaBufMapAttachmentUnlocked(attach, DmaDirection.ToDevice).Error);
        Assert.Equal(Errno.EDEADLK, m.Host.DmaBufUnmapAttachmentUnlocked(attach, table, DmaDirection.ToDevice));

        Assert.Equal(1, attach.MappedTables);
        Assert.True(dmabuf.Resv.IsHeldByCurrentThread);
        dmabuf.Resv.Unlock();
        Assert.Equal(2, m.Host.Violations.Count);
    }

    [Fact]
    public void DmaBufMapAttachment_StaticImporterOfAPinningExporter_PinsFirst_AndUnmapUnpins()
    {
        using var m = new DmaBufMachine();
        var exporter = new FakeExporter();
        DmaBuffer dmabuf = exporter.Export(m.Host, pin: true);
        DmaBufAttachment attach = m.Host.DmaBufAttach(dmabuf, m.Dev("near")).Value;
        dmabuf.Resv.Lock();

        SgTable table = m.Host.DmaBufMapAttachment(attach, DmaDirection.FromDevice).Value;
        m.Host.DmaBufUnmapAttachment(attach, table, DmaDirection.FromDevice);
        dmabuf.Resv.Unlock();

        Assert.Equal(new[] { "attach", "pin", "map", "unmap", "unpin" }, exporter.Calls);
    }

    [Fact]
    public void DmaBufMapAttachment_DynamicImporter_IsNotPinnedImplicitly()
    {
        using var m = new DmaBufMachine();
        var exporter = new FakeExporter();
        DmaBuffer dmabuf = exporter.Export(m.Host, pin: true);
        DmaBufAttachment attach = m.Host.DmaBufDynamicAttach(dmabuf, m.Dev("near"), s_importer, null).Value;

        SgTable table = m.Host.DmaBufMapAttachmentUnlocked(attach, DmaDirection.FromDevice).Value;
        m.Host.DmaBufUnmapAttachmentUnlocked(attach, table, DmaDirection.FromDevice);

        Assert.Equal(new[] { "attach", "map", "unmap" }, exporter.Calls);
    }

    [Fact]
    public void DmaBufMapAttachment_PinFails_ReturnsThePinErrorWithoutMapping()
    {
        using var m = new DmaBufMachine();
        var exporter = new FakeExporter { PinResult = Errno.EOPNOTSUPP };
        DmaBuffer dmabuf = exporter.Export(m.Host, pin: true);
        DmaBufAttachment attach = m.Host.DmaBufAttach(dmabuf, m.Dev("near")).Value;

        Assert.Equal(Errno.EOPNOTSUPP, m.Host.DmaBufMapAttachmentUnlocked(attach, DmaDirection.FromDevice).Error);

        Assert.Equal(new[] { "attach", "pin" }, exporter.Calls);
        Assert.Equal(0, attach.MappedTables);
    }

    [Fact]
    public void DmaBufMapAttachment_MapFailsOrReturnsNull_UndoesTheImplicitPin()
    {
        using var m = new DmaBufMachine();
        var exporter = new FakeExporter { MapError = Errno.ENODEV };
        DmaBuffer dmabuf = exporter.Export(m.Host, pin: true);
        DmaBufAttachment attach = m.Host.DmaBufAttach(dmabuf, m.Dev("near")).Value;

        Assert.Equal(Errno.ENODEV, m.Host.DmaBufMapAttachmentUnlocked(attach, DmaDirection.FromDevice).Error);
        exporter.MapError = null;
        exporter.MapReturnsNull = true;
        Assert.Equal(Errno.ENOMEM, m.Host.DmaBufMapAttachmentUnlocked(attach, DmaDirection.FromDevice).Error);

        Assert.Equal(new[] { "attach", "pin", "map", "unpin", "pin", "map", "unpin" }, exporter.Calls);
    }

    [Fact]
    public void DmaBufMapAttachment_StaticImporter_WaitsForKernelFences_AndOnTimeoutUnmaps()
    {
        using var m = new DmaBufMachine();
        m.Host.LockTimeout = TimeSpan.FromMilliseconds(20);
        var exporter = new FakeExporter();
        DmaBuffer dmabuf = exporter.Export(m.Host);
        DmaBufAttachment attach = m.Host.DmaBufAttach(dmabuf, m.Dev("near")).Value;
        var move = new DmaFence("move");
        dmabuf.Resv.Lock();
        dmabuf.Resv.AddFence(move, DmaResvUsage.Kernel);

        Assert.Equal(Errno.ETIMEDOUT, m.Host.DmaBufMapAttachment(attach, DmaDirection.FromDevice).Error);
        Assert.Equal(new[] { "attach", "map", "unmap" }, exporter.Calls);
        move.Signal();
        Assert.True(m.Host.DmaBufMapAttachment(attach, DmaDirection.FromDevice).IsSuccess);
        dmabuf.Resv.Unlock();
    }

    [Fact]
    public void DmaBufMapAttachment_DynamicImporter_DoesNotWaitForFences()
    {
        using var m = new DmaBufMachine();
        m.Host.LockTimeout = TimeSpan.FromMilliseconds(20);
        DmaBuffer dmabuf = new FakeExporter().Export(m.Host);
        DmaBufAttachment attach = m.Host.DmaBufDynamicAttach(dmabuf, m.Dev("near"), s_importer, null).Value;
        dmabuf.Resv.Lock();
        dmabuf.Resv.AddFence(new DmaFence(), DmaResvUsage.Kernel);

        Assert.True(m.Host.DmaBufMapAttachment(attach, DmaDirection.FromDevice).IsSuccess);
        dmabuf.Resv.Unlock();
    }

    [Fact]
    public void DmaBufMapAttachment_ExporterReturnsALiveTableAgain_IsRecorded()
    {
        using var m = new DmaBufMachine();
        var exporter = new FakeExporter { FixedTable = new SgTable(new[] { new Scatterlist(new PhysAddress(0x20_0000), 4096) }) };
        DmaBuffer dmabuf = exporter.Export(m.Host);
        DmaBufAttachment attach = m.Host.DmaBufDynamicAttach(dmabuf, m.Dev("near"), s_importer, null).Value;

        m.Host.DmaBufMapAttachmentUnlocked(attach, DmaDirection.FromDevice);
        m.Host.DmaBufMapAttachmentUnlocked(attach, DmaDirection.FromDevice);

        Assert.Equal(DmaBufViolationKind.ExporterReusedTable, Assert.Single(m.Host.Violations).Kind);
    }

    [Fact]
    public void ExporterOp_TakingTheResvItIsCalledWith_GetsEdeadlkInsteadOfDeadlocking()
    {
        using var m = new DmaBufMachine();
        var exporter = new FakeExporter();
        Errno inner = Errno.None;
        DmaBufOps ops = exporter.Ops() with
        {
            MapDmaBuf = (attach, dir) =>
            {
                inner = attach.DmaBuf.Resv.Lock();
                return Result.Ok(new SgTable(new[] { new Scatterlist(new PhysAddress(0x10_0000), 4096) }));
            },
        };
        DmaBuffer dmabuf = m.Host.DmaBufExport(new DmaBufExportInfo("locks", ops, 4096, exporter)).Value;
        DmaBufAttachment attach = m.Host.DmaBufDynamicAttach(dmabuf, m.Dev("near"), s_importer, null).Value;

        Assert.True(m.Host.DmaBufMapAttachmentUnlocked(attach, DmaDirection.ToDevice).IsSuccess);

        Assert.Equal(Errno.EDEADLK, inner);
        Assert.Equal(DmaBufViolationKind.LockHeld, Assert.Single(m.Host.Violations).Kind);
        Assert.False(dmabuf.Resv.IsLocked);
    }

    [Fact]
    public void DmaBufMoveNotify_NeedsTheResv_AndNotifiesDynamicImportersOnlyWithItHeld()
    {
        using var m = new DmaBufMachine();
        DmaBuffer dmabuf = new FakeExporter().Export(m.Host);
        var notified = new List<(DmaBufAttachment Attach, bool Held)>();
        var ops = new DmaBufAttachOps { AllowPeer2Peer = true, MoveNotify = a => notified.Add((a, a.DmaBuf.Resv.IsHeldByCurrentThread)) };
        DmaBufAttachment first = m.Host.DmaBufDynamicAttach(dmabuf, m.Dev("near"), ops, null).Value;
        m.Host.DmaBufAttach(dmabuf, m.Dev("far"));
        DmaBufAttachment second = m.Host.DmaBufDynamicAttach(dmabuf, m.Dev("thru"), ops, null).Value;

        Assert.Equal(Errno.ENOLCK, m.Host.DmaBufMoveNotify(dmabuf));
        Assert.Empty(notified);
        dmabuf.Resv.Lock();
        Assert.Equal(Errno.None, m.Host.DmaBufMoveNotify(dmabuf));
        Assert.Equal(Errno.None, m.Host.DmaBufInvalidateMappings(dmabuf));
        dmabuf.Resv.Unlock();

        Assert.Equal(4, notified.Count);
        Assert.Equal(new[] { second, first, second, first }, notified.ConvertAll(n => n.Attach));
        Assert.All(notified, n => Assert.True(n.Held));
        Assert.Equal("dma_buf_move_notify", Assert.Single(m.Host.Violations).Function);
    }

    [Fact]
    public void Importer_UnmapsInsideTheNotify_ButCannotDetachThere()
    {
        using var m = new DmaBufMachine();
        DmaBuffer dmabuf = new FakeExporter().Export(m.Host);
        SgTable? table = null;
        Errno unmapped = Errno.EIO;
        Errno detached = Errno.None;
        DmaBufAttachment? self = null;
        var ops = new DmaBufAttachOps
        {
            AllowPeer2Peer = true,
            MoveNotify = a =>
            {
                unmapped = m.Host.DmaBufUnmapAttachment(a, table!, DmaDirection.ToDevice);
                detached = m.Host.DmaBufDetach(a.DmaBuf, a);
            },
        };
        self = m.Host.DmaBufDynamicAttach(dmabuf, m.Dev("near"), ops, null).Value;
        table = m.Host.DmaBufMapAttachmentUnlocked(self, DmaDirection.ToDevice).Value;

        dmabuf.Resv.Lock();
        m.Host.DmaBufMoveNotify(dmabuf);
        dmabuf.Resv.Unlock();

        Assert.Equal(Errno.None, unmapped);
        Assert.Equal(Errno.EDEADLK, detached);
        Assert.Equal(0, self.MappedTables);
        Assert.False(self.IsDetached);
    }

    [Fact]
    public void DmaBufMapAttachment_ByAnotherThreadWhileTheExporterHoldsTheResv_Waits()
    {
        using var m = new DmaBufMachine();
        var exporter = new FakeExporter();
        DmaBuffer dmabuf = exporter.Export(m.Host);
        DmaBufAttachment attach = m.Host.DmaBufDynamicAttach(dmabuf, m.Dev("near"), s_importer, null).Value;
        dmabuf.Resv.Lock();
        var importer = new Thread(() => m.Host.DmaBufMapAttachmentUnlocked(attach, DmaDirection.ToDevice));

        importer.Start();
        Assert.True(SpinWait.SpinUntil(() => (importer.ThreadState & ThreadState.WaitSleepJoin) != 0, TimeSpan.FromSeconds(10)));
        Assert.DoesNotContain("map", exporter.Calls);
        dmabuf.Resv.Unlock();
        importer.Join();

        Assert.Contains("map", exporter.Calls);
        Assert.Equal(1, attach.MappedTables);
    }
}
