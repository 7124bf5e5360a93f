using System;
using System.Linq;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Dma.Userspace;
using P2pEmu.Emulator.Host;
using Xunit;
using DmaBuffer = P2pEmu.Dma.DmaBuf.DmaBuf;

namespace P2pEmu.Dma.Tests.DmaBuf;

public sealed class DmaBufExportTests
{
    public static TheoryData<string> MissingRequiredOps => new() { "priv", "ops", "map_dma_buf", "unmap_dma_buf", "release", "pin only", "unpin only" };

    [Theory]
    [MemberData(nameof(MissingRequiredOps))]
    public void DmaBufExport_MissingOrUnpairedOp_ReturnsEinvalAndWarns(string missing)
    {
        using var m = new DmaBufMachine();
        var exporter = new FakeExporter();
        DmaBufOps ops = exporter.Ops(pin: true);
        DmaBufOps? broken = missing switch
        {
            "ops" => null,
            "map_dma_buf" => ops with { MapDmaBuf = null },
            "unmap_dma_buf" => ops with { UnmapDmaBuf = null },
            "release" => ops with { Release = null },
            "pin only" => ops with { Unpin = null },
            "unpin only" => ops with { Pin = null },
            _ => ops,
        };
        object? priv = missing == "priv" ? null : exporter;

        Result<DmaBuffer> result = m.Host.DmaBufExport(new DmaBufExportInfo("bad", broken, 4096, priv));

        Assert.Equal(Errno.EINVAL, result.Error);
        Assert.Equal(DmaBufViolationKind.BadExporterOps, Assert.Single(m.Host.Violations).Kind);
        Assert.Equal(0, m.Host.LiveBuffers);
    }

    [Fact]
    public void DmaBufExport_PinAndUnpinBothOrNeither_Succeeds_DynamicOnlyWithPin()
    {
        using var m = new DmaBufMachine();

        DmaBuffer plain = new FakeExporter().Export(m.Host, 8192);
        DmaBuffer pinnable = new FakeExporter().Export(m.Host, pin: true);

        Assert.False(plain.IsDynamic);
        Assert.True(pinnable.IsDynamic);
        Assert.Equal(8192UL, plain.Size);
        Assert.NotSame(plain.Resv, pinnable.Resv);
        Assert.Equal(1, plain.File.Count);
        Assert.Equal(2, m.Host.LiveBuffers);
        Assert.Empty(m.Host.Violations);
    }

    [Fact]
    public void DmaBufExport_WithAnExporterResv_SharesIt()
    {
        using var m = new DmaBufMachine();
        var shared = new DmaResv(m.Host);
        var exporter = new FakeExporter();

        DmaBuffer a = m.Host.DmaBufExport(new DmaBufExportInfo("a", exporter.Ops(), 4096, exporter) { Resv = shared }).Value;
        DmaBuffer b = m.Host.DmaBufExport(new DmaBufExportInfo("b", exporter.Ops(), 4096, exporter) { Resv = shared }).Value;

        Assert.Same(shared, a.Resv);
        Assert.Same(shared, b.Resv);
    }

    [Fact]
    public void DmaBufExport_WithTheSharedResvHeld_ReturnsEdeadlk()
    {
        using var m = new DmaBufMachine();
        var shared = new DmaResv(m.Host);
        var exporter = new FakeExporter();
        shared.Lock();

        Result<DmaBuffer> result = m.Host.DmaBufExport(new DmaBufExportInfo("a", exporter.Ops(), 4096, exporter) { Resv = shared });

        Assert.Equal(Errno.EDEADLK, result.Error);
        Assert.Equal(("dma_buf_export", DmaBufViolationKind.LockHeld), (Assert.Single(m.Host.Violations).Function, m.Host.Violations[0].Kind));
        shared.Unlock();
    }

    [Fact]
    public void DmaBufFd_ThenGet_ReturnsTheBufferWithAReference_AndCloseOfTheLastReferenceReleasesIt()
    {
        using var m = new DmaBufMachine();
        var exporter = new FakeExporter();
        DmaBuffer dmabuf = exporter.Export(m.Host);
        var process = new Process();

        int fd = m.Host.DmaBufFd(dmabuf, process, Process.OCloexec).Value;
        DmaBuffer got = m.Host.DmaBufGet(process, fd).Value;

        Assert.Same(dmabuf, got);
        Assert.True(process.IsCloseOnExec(fd));
        Assert.Equal(2, dmabuf.File.Count);
        Assert.Equal(Errno.None, process.Close(fd));
        Assert.False(exporter.ReleasedCalled);
        Assert.Equal(Errno.None, m.Host.DmaBufPut(got));
        Assert.True(exporter.ReleasedCalled);
        Assert.False(exporter.LockHeld["release"]);
        Assert.True(dmabuf.IsReleased);
        Assert.Equal(0, m.Host.LiveBuffers);
    }

    [Fact]
    public void DmaBufGet_BadDescriptor_ReturnsEbadf_AndAFileThatIsNotADmaBuf_ReturnsEinvalWithoutLeakingAReference()
    {
        using var m = new DmaBufMachine();
        var process = new Process();
        var other = new OpenFile(new NullFileOps(), "not a dma-buf");
        int fd = process.FdInstall(other).Value;

        Assert.Equal(Errno.EBADF, m.Host.DmaBufGet(process, fd + 1).Error);
        Assert.Equal(Errno.EBADF, m.Host.DmaBufGet(process, -1).Error);
        Assert.Equal(Errno.EINVAL, m.Host.DmaBufGet(process, fd).Error);
        Assert.Equal(1, other.Count);
    }

    [Fact]
    public void DmaBufGet_DmaBufOfAnotherMachine_ReturnsEinval()
    {
        using var m = new DmaBufMachine();
        using var n = new DmaBufMachine();
        DmaBuffer foreign = new FakeExporter().Export(n.Host);
        var process = new Process();
        int fd = n.Host.DmaBufFd(foreign, process, 0).Value;

        Assert.Equal(Errno.EINVAL, m.Host.DmaBufGet(process, fd).Error);
        Assert.Equal(1, foreign.File.Count);
    }

    [Fact]
    public void DmaBufPutAndFd_WithTheResvHeld_ReturnEdeadlkAndDropNothing()
    {
        using var m = new DmaBufMachine();
        DmaBuffer dmabuf = new FakeExporter().Export(m.Host);
        dmabuf.Resv.Lock();

        Assert.Equal(Errno.EDEADLK, m.Host.DmaBufPut(dmabuf));
        Assert.Equal(Errno.EDEADLK, m.Host.DmaBufFd(dmabuf, new Process(), 0).Error);

        Assert.Equal(1, dmabuf.File.Count);
        Assert.Equal(new[] { "dma_buf_put", "dma_buf_fd" }, m.Host.Violations.Select(v => v.Function));
        dmabuf.Resv.Unlock();
    }

    [Fact]
    public void Release_WithAttachmentsLeft_IsRecorded()
    {
        using var m = new DmaBufMachine();
        var exporter = new FakeExporter();
        DmaBuffer dmabuf = exporter.Export(m.Host);
        m.Host.DmaBufAttach(dmabuf, m.Dev("near"));

        Assert.Equal(Errno.None, m.Host.DmaBufPut(dmabuf));

        Assert.True(exporter.ReleasedCalled);
        Assert.Equal(DmaBufViolationKind.ReleaseWithAttachments, Assert.Single(m.Host.Violations).Kind);
    }

    [Fact]
    public void GetDmaBuf_TakesAReferenceThePutDrops()
    {
        using var m = new DmaBufMachine();
        var exporter = new FakeExporter();
        DmaBuffer dmabuf = exporter.Export(m.Host);

        m.Host.GetDmaBuf(dmabuf);
        m.Host.DmaBufPut(dmabuf);

        Assert.False(exporter.ReleasedCalled);
        m.Host.DmaBufPut(dmabuf);
        Assert.True(exporter.ReleasedCalled);
        Assert.Throws<InvalidOperationException>(() => m.Host.DmaBufPut(dmabuf));
    }

    [Fact]
    public void Calls_WithABufferOfAnotherMachine_Throw()
    {
        using var m = new DmaBufMachine();
        using var n = new DmaBufMachine();
        DmaBuffer foreign = new FakeExporter().Export(n.Host);

        Assert.Throws<ArgumentException>(() => m.Host.DmaBufPut(foreign));
        Assert.Throws<ArgumentException>(() => m.Host.DmaBufAttach(foreign, m.Dev("near")));
    }

    private sealed class NullFileOps : IFileOperations
    {
        public void Release(OpenFile file)
        {
        }
    }
}
