using System;
using System.Linq;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Dma.Mapping;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Topology;
using Xunit;
using DmaBuffer = P2pEmu.Dma.DmaBuf.DmaBuf;

namespace P2pEmu.Dma.Tests.DmaBuf;

public sealed class DmaBufAttachTests
{
    private static readonly DmaBufAttachOps s_p2pImporter = new() { AllowPeer2Peer = true, MoveNotify = _ => { } };

    [Fact]
    public void DmaBufDynamicAttach_CopiesPeer2Peer_CallsTheExporterUnlocked_AndListsTheAttachment()
    {
        using var m = new DmaBufMachine();
        var exporter = new FakeExporter();
        DmaBuffer dmabuf = exporter.Export(m.Host);
        object priv = new();

        DmaBufAttachment attach = m.Host.DmaBufDynamicAttach(dmabuf, m.Dev("near"), s_p2pImporter, priv).Value;

        Assert.True(attach.IsDynamic);
        Assert.True(attach.Peer2Peer);
        Assert.Same(priv, attach.ImporterPriv);
        Assert.Same(m.Dev("near"), attach.Dev);
        Assert.False(exporter.LockHeld["attach"]);
        Assert.Equal(new[] { attach }, dmabuf.Attachments);
        Assert.False(dmabuf.Resv.IsLocked);
    }

    [Fact]
    public void DmaBufAttach_IsStaticWithoutPeer2Peer_EvenThoughTheCoreAcceptsIt()
    {
        using var m = new DmaBufMachine();
        DmaBuffer dmabuf = new FakeExporter().Export(m.Host);

        DmaBufAttachment attach = m.Host.DmaBufAttach(dmabuf, m.Dev("near")).Value;

        Assert.False(attach.IsDynamic);
        Assert.False(attach.Peer2Peer);
        Assert.False(m.Host.DmaBufAttachRevocable(attach));
    }

    [Fact]
    public void DmaBufDynamicAttach_ExporterRefuses_ReturnsItsErrorAndListsNothing()
    {
        using var m = new DmaBufMachine();
        var exporter = new FakeExporter { AttachResult = Errno.EBUSY };
        DmaBuffer dmabuf = exporter.Export(m.Host);

        Assert.Equal(Errno.EBUSY, m.Host.DmaBufDynamicAttach(dmabuf, m.Dev("near"), s_p2pImporter, null).Error);

        Assert.Empty(dmabuf.Attachments);
        Assert.DoesNotContain("detach", exporter.Calls);
    }

    [Theory]
    [InlineData(KernelProfile.Linux619, Errno.EINVAL)]
    [InlineData(KernelProfile.Revoke2026, Errno.None)]
    public void DmaBufDynamicAttach_ImporterOpsWithoutNotify_DependsOnTheProfile(KernelProfile kernel, Errno expected)
    {
        using var m = new DmaBufMachine(kernel: kernel);
        DmaBuffer dmabuf = new FakeExporter().Export(m.Host);
        var pinnedImporter = new DmaBufAttachOps { AllowPeer2Peer = true };

        Result<DmaBufAttachment> result = m.Host.DmaBufDynamicAttach(dmabuf, m.Dev("near"), pinnedImporter, null);

        Assert.Equal(expected, result.Error);
        if (expected == Errno.None)
        {
            Assert.True(result.Value.IsDynamic);
            Assert.False(m.Host.DmaBufAttachRevocable(result.Value));
            Assert.Empty(m.Host.Violations);
        }
        else
        {
            Assert.Equal(DmaBufViolationKind.BadImporterOps, Assert.Single(m.Host.Violations).Kind);
            Assert.Empty(dmabuf.Attachments);
        }
    }

    [Fact]
    public void DmaBufAttachRevocable_IsTrueForImportersWithTheInvalidateOp()
    {
        using var m = new DmaBufMachine(kernel: KernelProfile.Revoke2026);
        DmaBuffer dmabuf = new FakeExporter().Export(m.Host);

        DmaBufAttachment attach = m.Host.DmaBufDynamicAttach(dmabuf, m.Dev("near"), new DmaBufAttachOps { InvalidateMappings = _ => { } }, null).Value;

        Assert.True(m.Host.DmaBufAttachRevocable(attach));
        Assert.False(attach.Peer2Peer);
    }

    [Fact]
    public void AttachAndDetach_WithTheResvHeld_ReturnEdeadlkInsteadOfDeadlocking()
    {
        using var m = new DmaBufMachine();
        var exporter = new FakeExporter();
        DmaBuffer dmabuf = exporter.Export(m.Host);
        DmaBufAttachment existing = m.Host.DmaBufAttach(dmabuf, m.Dev("near")).Value;
        dmabuf.Resv.Lock();

        Assert.Equal(Errno.EDEADLK, m.Host.DmaBufAttach(dmabuf, m.Dev("far")).Error);
        Assert.Equal(Errno.EDEADLK, m.Host.DmaBufDynamicAttach(dmabuf, m.Dev("far"), s_p2pImporter, null).Error);
        Assert.Equal(Errno.EDEADLK, m.Host.DmaBufDetach(dmabuf, existing));

        dmabuf.Resv.Unlock();
        Assert.Equal(new[] { existing }, dmabuf.Attachments);
        Assert.Equal(new[] { "dma_buf_attach", "dma_buf_dynamic_attach", "dma_buf_detach" }, m.Host.Violations.Select(v => v.Function));
        Assert.All(m.Host.Violations, v => Assert.Equal(DmaBufViolationKind.LockHeld, v.Kind));
        Assert.Single(exporter.Calls, c => c == "attach");
    }

    [Fact]
    public void DmaBufDetach_RemovesTheAttachment_CallsTheExporterUnlocked_AndASecondDetachThrows()
    {
        using var m = new DmaBufMachine();
        var exporter = new FakeExporter();
        DmaBuffer dmabuf = exporter.Export(m.Host);
        DmaBufAttachment attach = m.Host.DmaBufDynamicAttach(dmabuf, m.Dev("near"), s_p2pImporter, null).Value;

        Assert.Equal(Errno.None, m.Host.DmaBufDetach(dmabuf, attach));

        Assert.Empty(dmabuf.Attachments);
        Assert.True(attach.IsDetached);
        Assert.False(exporter.LockHeld["detach"]);
        Assert.Throws<InvalidOperationException>(() => m.Host.DmaBufDetach(dmabuf, attach));
        Assert.Throws<InvalidOperationException>(() => m.Host.DmaBufMapAttachmentUnlocked(attach, DmaDirection.ToDevice));
    }

    [Fact]
    public void DmaBufDetach_AnotherBuffersAttachment_Throws()
    {
        using var m = new DmaBufMachine();
        DmaBuffer a = new FakeExporter().Export(m.Host);
        DmaBuffer b = new FakeExporter().Export(m.Host);
        DmaBufAttachment attach = m.Host.DmaBufAttach(a, m.Dev("near")).Value;

        Assert.Throws<ArgumentException>(() => m.Host.DmaBufDetach(b, attach));
    }

    [Fact]
    public void DmaBufDetach_WithMappingsLeft_IsRecordedAndStillDetaches()
    {
        using var m = new DmaBufMachine();
        DmaBuffer dmabuf = new FakeExporter().Export(m.Host);
        DmaBufAttachment attach = m.Host.DmaBufDynamicAttach(dmabuf, m.Dev("near"), s_p2pImporter, null).Value;
        Assert.True(m.Host.DmaBufMapAttachmentUnlocked(attach, DmaDirection.Bidirectional).IsSuccess);

        Assert.Equal(Errno.None, m.Host.DmaBufDetach(dmabuf, attach));

        Assert.Equal(DmaBufViolationKind.DetachWithMappings, Assert.Single(m.Host.Violations).Kind);
        Assert.Empty(dmabuf.Attachments);
    }

    [Fact]
    public void DmaBufPin_NeedsTheResv_CallsTheExporterLocked()
    {
        using var m = new DmaBufMachine();
        var exporter = new FakeExporter { PinResult = Errno.EOPNOTSUPP };
        DmaBuffer dmabuf = exporter.Export(m.Host, pin: true);
        DmaBufAttachment attach = m.Host.DmaBufDynamicAttach(dmabuf, m.Dev("near"), s_p2pImporter, null).Value;

        Assert.Equal(Errno.ENOLCK, m.Host.DmaBufPin(attach));
        Assert.Equal(Errno.ENOLCK, m.Host.DmaBufUnpin(attach));
        Assert.DoesNotContain("pin", exporter.Calls);
        dmabuf.Resv.Lock();
        Assert.Equal(Errno.EOPNOTSUPP, m.Host.DmaBufPin(attach));
        Assert.Equal(Errno.None, m.Host.DmaBufUnpin(attach));
        dmabuf.Resv.Unlock();

        Assert.True(exporter.LockHeld["pin"]);
        Assert.True(exporter.LockHeld["unpin"]);
        Assert.Equal(new[] { "dma_buf_pin", "dma_buf_unpin" }, m.Host.Violations.Select(v => v.Function));
    }

    [Fact]
    public void DmaBufPin_WithoutAnExporterPin_ReturnsNone_AndOnAStaticAttachmentWarns()
    {
        using var m = new DmaBufMachine();
        DmaBuffer dmabuf = new FakeExporter().Export(m.Host);
        DmaBufAttachment attach = m.Host.DmaBufAttach(dmabuf, m.Dev("near")).Value;
        dmabuf.Resv.Lock();

        Assert.Equal(Errno.None, m.Host.DmaBufPin(attach));

        dmabuf.Resv.Unlock();
        Assert.Equal(DmaBufViolationKind.PinStaticAttachment, Assert.Single(m.Host.Violations).Kind);
    }
}
