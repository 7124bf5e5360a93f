using System;
using System.Linq;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Drivers.Vfio;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Topology;
using Xunit;
using DmaBuffer = P2pEmu.Dma.DmaBuf.DmaBuf;

namespace P2pEmu.Integration.Tests.DmaBuf;

/// <summary>The vfio exporter ops of spec §1.6 and the importer state machine of §1.7, by profile.</summary>
public sealed class VfioDmaBufOpsTests
{
    private const ulong Page = VfioMachine.Page;

    [Theory]
    [InlineData(KernelProfile.Linux619)]
    [InlineData(KernelProfile.Revoke2026)]
    public void Attach_WithoutPeer2Peer_IsEopnotsupp_StaticOrDynamic(KernelProfile kernel)
    {
        using var m = new VfioMachine(kernel);
        DmaBuffer dmabuf = m.Get(m.Export((0, Page)).Value);

        Assert.Equal(Errno.EOPNOTSUPP, m.Host.DmaBufAttach(dmabuf, m.Dev("near")).Error);
        Assert.Equal(Errno.EOPNOTSUPP, m.Host.DmaBufDynamicAttach(dmabuf, m.Dev("near"), new DmaBufAttachOps { MoveNotify = _ => { } }, null).Error);

        Assert.Empty(dmabuf.Attachments);
    }

    [Fact]
    public void Attach_NotRevocable_IsEopnotsuppInRevoke2026()
    {
        using var m = new VfioMachine(KernelProfile.Revoke2026);
        DmaBuffer dmabuf = m.Get(m.Export((0, Page)).Value);

        Result<DmaBufAttachment> pinned = m.Host.DmaBufDynamicAttach(dmabuf, m.Dev("near"), new DmaBufAttachOps { AllowPeer2Peer = true }, null);

        Assert.Equal(Errno.EOPNOTSUPP, pinned.Error);
    }

    [Fact]
    public void Pin_IsEopnotsuppAtV619_SoPinnedImportersCannotUseTheBuffer()
    {
        using var m = new VfioMachine(KernelProfile.Linux619);
        DmaBuffer dmabuf = m.Get(m.Export((0, Page)).Value);
        var importer = new TestImporter(m.Host, dmabuf, m.Dev("near"), m.Machine.Fabric);

        dmabuf.Resv.Lock();
        Errno pinned = m.Host.DmaBufPin(importer.Attachment);
        dmabuf.Resv.Unlock();

        Assert.Equal(Errno.EOPNOTSUPP, pinned);
    }

    [Fact]
    public void Pin_HasNoOpInRevoke2026_SoPinSucceedsForRevocableImporters()
    {
        using var m = new VfioMachine(KernelProfile.Revoke2026);
        DmaBuffer dmabuf = m.Get(m.Export((0, Page)).Value);
        var importer = new TestImporter(m.Host, dmabuf, m.Dev("near"), m.Machine.Fabric);

        dmabuf.Resv.Lock();
        Errno pinned = m.Host.DmaBufPin(importer.Attachment);
        dmabuf.Resv.Unlock();

        Assert.Equal(Errno.None, pinned);
        Assert.False(dmabuf.IsDynamic);
    }

    [Fact]
    public void Revoke2026_PinnedRevocableImporter_IsInvalidated_AndItsMapIsRefusedUntilUnrevoked()
    {
        using var m = new VfioMachine(KernelProfile.Revoke2026);
        DmaBuffer dmabuf = m.Get(m.Export((0, Page)).Value);
        var importer = new TestImporter(m.Host, dmabuf, m.Dev("near"), m.Machine.Fabric);
        dmabuf.Resv.Lock();
        Assert.Equal(Errno.None, m.Host.DmaBufPin(importer.Attachment));
        dmabuf.Resv.Unlock();
        Assert.Equal(Errno.None, importer.Map());

        m.MemoryOff();

        Assert.Equal(1, importer.Notifies);
        Assert.Null(importer.Table);
        Assert.Equal(Errno.ENODEV, importer.Map());
        dmabuf.Resv.Lock();
        Assert.Equal(Errno.None, m.Host.DmaBufUnpin(importer.Attachment));
        dmabuf.Resv.Unlock();
        Assert.Equal(Errno.None, importer.Detach());
        Assert.Empty(m.Host.Violations);
    }

    [Theory]
    [InlineData(KernelProfile.Linux619, "near", 2)]
    [InlineData(KernelProfile.Linux619, "thru", 1)]
    [InlineData(KernelProfile.Revoke2026, "near", 2)]
    [InlineData(KernelProfile.Revoke2026, "thru", 1)]
    public void Map_ByMapType_GivesAddressesTheImportersDmaReaches(KernelProfile kernel, string device, int entries)
    {
        using var m = new VfioMachine(kernel);
        DmaBuffer dmabuf = m.Get(m.Export((0, 0x10000), (0x100000, 0x2000)).Value);
        var importer = new TestImporter(m.Host, dmabuf, m.Dev(device), m.Machine.Fabric);

        Assert.Equal(Errno.None, importer.Map());

        Assert.Equal(entries, importer.Table!.Nents);
        byte[] data = new byte[0x12000];
        new Random(7).NextBytes(data);
        Assert.True(importer.Port.Write(importer.LastSegments, data).IsSuccess);
        Assert.Equal(data.AsSpan(0, 0x10000).ToArray(), m.Bar2.Memory!.GetSpan(0, 0x10000).ToArray());
        Assert.Equal(data.AsSpan(0x10000).ToArray(), m.Bar2.Memory!.GetSpan(0x100000, 0x2000).ToArray());
        Assert.Equal(kernel == KernelProfile.Revoke2026 ? 1 : 0, ((VfioPciDmaBuf)dmabuf.Priv).OutstandingMaps);
        importer.Unmap();
        Assert.Equal(0, ((VfioPciDmaBuf)dmabuf.Priv).OutstandingMaps);
    }

    [Theory]
    [InlineData(KernelProfile.Linux619)]
    [InlineData(KernelProfile.Revoke2026)]
    public void AttachAndMap_WhileRevoked_AreEnodev(KernelProfile kernel)
    {
        using var m = new VfioMachine(kernel);
        DmaBuffer dmabuf = m.Get(m.Export((0, Page)).Value);
        var attached = new TestImporter(m.Host, dmabuf, m.Dev("near"), m.Machine.Fabric);

        m.MemoryOff();

        Assert.Equal(Errno.ENODEV, attached.Map());
        Assert.Equal(Errno.ENODEV, new TestImporter(m.Host, dmabuf, m.Dev("thru"), m.Machine.Fabric).AttachResult.Error);
        m.MemoryOn();
        Assert.Equal(Errno.None, attached.Map());
    }

    [Fact]
    public void IommufdMap_GivesTheSingleRange_AndRefusesOtherwise()
    {
        using var m = new VfioMachine();
        DmaBuffer one = m.Get(m.Export((0x2000, Page)).Value);
        DmaBuffer two = m.Get(m.Export((0, Page), (0x4000, Page)).Value);
        var a = new TestImporter(m.Host, one, m.Dev("near"), m.Machine.Fabric).Attachment;
        var b = new TestImporter(m.Host, two, m.Dev("near"), m.Machine.Fabric).Attachment;

        Assert.Equal(Errno.ENOLCK, VfioPciDriver.VfioPciDmaBufIommufdMap(a).Error);
        one.Resv.Lock();
        Assert.Equal(new PhysVec(m.Bar2.Address + 0x2000, Page), VfioPciDriver.VfioPciDmaBufIommufdMap(a).Value);
        one.Resv.Unlock();
        two.Resv.Lock();
        Assert.Equal(Errno.EOPNOTSUPP, VfioPciDriver.VfioPciDmaBufIommufdMap(b).Error);
        two.Resv.Unlock();
        m.MemoryOff();
        one.Resv.Lock();
        Assert.Equal(Errno.ENODEV, VfioPciDriver.VfioPciDmaBufIommufdMap(a).Error);
        one.Resv.Unlock();
    }

    [Fact]
    public void IommufdMap_OfABufferThatIsNotVfios_IsEopnotsupp()
    {
        using var m = new VfioMachine();
        var priv = new object();
        var ops = new DmaBufOps { MapDmaBuf = (a, d) => Errno.ENOMEM, UnmapDmaBuf = (a, s, d) => { }, Release = _ => { } };
        DmaBuffer other = m.Host.DmaBufExport(new DmaBufExportInfo("other", ops, Page, priv)).Value;
        DmaBufAttachment attach = m.Host.DmaBufDynamicAttach(other, m.Dev("near"), new DmaBufAttachOps { AllowPeer2Peer = true, MoveNotify = _ => { } }, null).Value;

        other.Resv.Lock();
        Assert.Equal(Errno.EOPNOTSUPP, VfioPciDriver.VfioPciDmaBufIommufdMap(attach).Error);
        other.Resv.Unlock();
    }

    [Fact]
    public void Mmap_IsNotSupportedAtV619()
    {
        using var m = new VfioMachine(KernelProfile.Linux619);
        DmaBuffer dmabuf = m.Get(m.Export((0, Page)).Value);

        Assert.Equal(Errno.EINVAL, m.Host.DmaBufMmap(dmabuf, 0, 1).Error);
    }

    [Fact]
    public void Mmap_InRevoke2026_MapsTheRangesForTheCpu_PrivateIsEinval_RevokedIsEnodev()
    {
        using var m = new VfioMachine(KernelProfile.Revoke2026);
        DmaBuffer dmabuf = m.Get(m.Export((0x3000, Page), (0x10000, Page)).Value);

        Assert.Equal(Errno.EINVAL, m.Host.DmaBufMmap(dmabuf, 0, 1, shared: false).Error);
        DmaBufCpuMapping mapping = m.Host.DmaBufMmap(dmabuf, 0, 2).Value;
        byte[] data = Enumerable.Range(0, 32).Select(i => (byte)(i + 1)).ToArray();
        Assert.Equal(Errno.None, mapping.Write(Page - 16, data));
        Assert.Equal(data.AsSpan(0, 16).ToArray(), m.Bar2.Memory!.GetSpan(0x3000 + Page - 16, 16).ToArray());
        Assert.Equal(data.AsSpan(16).ToArray(), m.Bar2.Memory!.GetSpan(0x10000, 16).ToArray());
        m.MemoryOff();
        Assert.Equal(Errno.ENODEV, m.Host.DmaBufMmap(dmabuf, 0, 1).Error);
    }

    [Fact]
    public void Importer_OnAPeerBehindARedirectingPort_GetsAnIovaAndTheIommuTranslatesToTheBar()
    {
        using var m = new VfioMachine(KernelProfile.Linux619, IommuMode.Translate);
        DmaBuffer dmabuf = m.Get(m.Export((0, Page)).Value);
        var importer = new TestImporter(m.Host, dmabuf, m.Dev("thru"), m.Machine.Fabric);
        importer.Map();

        SgEntry run = Assert.Single(importer.LastSegments);
        var trace = new RouteTrace();
        RouteResult route = m.Machine.Fabric.Route(m.Machine.Fabric["thru"], run.Address, AccessKind.Write, trace: trace);

        Assert.Equal(PciP2pdmaMapType.ThruHostBridge, m.Machine.P2pDma.Explain(m.Exp, m.Machine.Fabric["thru"]).MapType);
        Assert.True(route.ReachedRootComplex);
        Assert.Same(m.Bar2, route.TargetBar);
    }
}
