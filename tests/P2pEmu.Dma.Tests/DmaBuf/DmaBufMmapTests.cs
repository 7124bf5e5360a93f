using System;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Dma.Mapping;
using P2pEmu.Emulator.Host;
using Xunit;
using DmaBuffer = P2pEmu.Dma.DmaBuf.DmaBuf;

namespace P2pEmu.Dma.Tests.DmaBuf;

public sealed class DmaBufMmapTests
{
    private const ulong Page = DmaBufCpuMapping.PageSize;

    [Fact]
    public void DmaBufMmap_ExporterWithoutMmap_ReturnsEinval()
    {
        using var m = new DmaBufMachine();
        DmaBuffer dmabuf = new FakeExporter().Export(m.Host, 4 * Page);

        Assert.Equal(Errno.EINVAL, m.Host.DmaBufMmap(dmabuf, 0, 1).Error);
    }

    [Theory]
    [InlineData(0UL, 4UL, Errno.None)]
    [InlineData(3UL, 1UL, Errno.None)]
    [InlineData(3UL, 2UL, Errno.EINVAL)]
    [InlineData(0UL, 5UL, Errno.EINVAL)]
    [InlineData(ulong.MaxValue, 2UL, Errno.EOVERFLOW)]
    public void DmaBufMmap_ChecksTheRangeAgainstTheBuffer(ulong pgoff, ulong pages, Errno expected)
    {
        using var m = new DmaBufMachine();
        var exporter = new FakeExporter();
        DmaBuffer dmabuf = exporter.Export(m.Host, 4 * Page, mmap: true);

        Result<DmaBufCpuMapping> result = m.Host.DmaBufMmap(dmabuf, pgoff, pages);

        Assert.Equal(expected, result.Error);
        Assert.Equal(expected == Errno.None, exporter.Calls.Contains("mmap"));
        Assert.Equal(expected == Errno.None ? 2 : 1, dmabuf.File.Count);
    }

    [Fact]
    public void DmaBufMmap_CallsTheExporterUnlocked_AndWithTheResvHeldReturnsEdeadlk()
    {
        using var m = new DmaBufMachine();
        var exporter = new FakeExporter();
        DmaBuffer dmabuf = exporter.Export(m.Host, 4 * Page, mmap: true);

        DmaBufCpuMapping mapping = m.Host.DmaBufMmap(dmabuf, 0, 1).Value;
        dmabuf.Resv.Lock();
        Errno held = m.Host.DmaBufMmap(dmabuf, 0, 1).Error;
        dmabuf.Resv.Unlock();

        Assert.False(exporter.LockHeld["mmap"]);
        Assert.Equal(Errno.EDEADLK, held);
        Assert.Equal(new[] { mapping }, dmabuf.CpuMappings);
    }

    [Fact]
    public void CpuMapping_FaultsIntoTheExporter_AccessesTheBar_AndAfterAZapFaultsAgain()
    {
        using var m = new DmaBufMachine();
        ulong bar = m.ExpBar.Address;
        int faults = 0;
        bool refuse = false;
        var exporter = new FakeExporter();
        DmaBufOps ops = exporter.Ops() with
        {
            Mmap = (dmabuf, mapping) =>
            {
                mapping.FaultHandler = (vma, page) =>
                {
                    faults++;
                    if (refuse)
                    {
                        return false;
                    }

                    vma.InsertPfn(page, bar + ((vma.PageOffset + page) * Page));
                    return true;
                };
                return Errno.None;
            },
        };
        DmaBuffer dmabuf = m.Host.DmaBufExport(new DmaBufExportInfo("bar", ops, 4 * Page, exporter)).Value;
        DmaBufCpuMapping mapping = m.Host.DmaBufMmap(dmabuf, 1, 2).Value;
        byte[] data = { 1, 2, 3, 4, 5 };

        Assert.Equal(Errno.None, mapping.Write(Page - 2, data));

        Assert.Equal(2, faults);
        Assert.Equal(2, mapping.PresentPages);
        Assert.Equal(data, m.ExpBar.Memory!.GetSpan((2 * Page) - 2, 5).ToArray());
        m.Host.DmaBufZapCpuMappings(dmabuf);
        Assert.Equal(0, mapping.PresentPages);
        refuse = true;
        var back = new byte[5];
        Assert.Equal(Errno.EFAULT, mapping.Read(Page - 2, back));
        refuse = false;
        Assert.Equal(Errno.None, mapping.Read(Page - 2, back));
        Assert.Equal(data, back);
        Assert.Throws<ArgumentOutOfRangeException>(() => mapping.Read((2 * Page) - 1, back));
    }

    [Fact]
    public void CpuMapping_Unmap_DropsItsFileReference_AndLaterAccessesFault()
    {
        using var m = new DmaBufMachine();
        var exporter = new FakeExporter();
        DmaBuffer dmabuf = exporter.Export(m.Host, 4 * Page, mmap: true);
        DmaBufCpuMapping mapping = m.Host.DmaBufMmap(dmabuf, 0, 1).Value;
        m.Host.DmaBufPut(dmabuf);
        Assert.False(exporter.ReleasedCalled);

        mapping.Unmap();

        Assert.True(exporter.ReleasedCalled);
        Assert.True(mapping.IsUnmapped);
        Assert.Empty(dmabuf.CpuMappings);
        Assert.Equal(Errno.EFAULT, mapping.Write(0, new byte[1]));
    }

    [Fact]
    public void CpuMapping_WithoutAFaultHandler_IsSigbus()
    {
        using var m = new DmaBufMachine();
        DmaBuffer dmabuf = new FakeExporter().Export(m.Host, 4 * Page, mmap: true);
        DmaBufCpuMapping mapping = m.Host.DmaBufMmap(dmabuf, 0, 1).Value;

        Assert.Equal(Errno.EFAULT, mapping.Read(0, new byte[8]));
    }

    [Fact]
    public void BeginCpuAccess_WaitsForTheFencesOfTheDirection_AndEndCallsTheExporter()
    {
        using var m = new DmaBufMachine();
        m.Host.LockTimeout = TimeSpan.FromMilliseconds(20);
        DmaBuffer dmabuf = new FakeExporter().Export(m.Host);
        var reader = new DmaFence();
        dmabuf.Resv.Lock();
        dmabuf.Resv.AddFence(reader, DmaResvUsage.Read);
        Assert.Equal(Errno.EDEADLK, m.Host.DmaBufBeginCpuAccess(dmabuf, DmaDirection.FromDevice));
        dmabuf.Resv.Unlock();

        Assert.Equal(Errno.None, m.Host.DmaBufBeginCpuAccess(dmabuf, DmaDirection.FromDevice));
        Assert.Equal(Errno.ETIMEDOUT, m.Host.DmaBufBeginCpuAccess(dmabuf, DmaDirection.ToDevice));
        reader.Signal();
        Assert.Equal(Errno.None, m.Host.DmaBufBeginCpuAccess(dmabuf, DmaDirection.ToDevice));
        Assert.Equal(Errno.None, m.Host.DmaBufEndCpuAccess(dmabuf, DmaDirection.ToDevice));
    }
}
