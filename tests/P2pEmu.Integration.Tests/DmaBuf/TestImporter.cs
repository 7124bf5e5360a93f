using System;
using System.Linq;
using System.Threading;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Dma.Mapping;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using Xunit;
using DmaBuffer = P2pEmu.Dma.DmaBuf.DmaBuf;

namespace P2pEmu.Integration.Tests.DmaBuf;

/// <summary>What an importer does when its notify is called.</summary>
internal enum NotifyBehaviour
{
    /// <summary>Stops (waits for its in-flight DMA fence) and unmaps inside the callback.</summary>
    UnmapInNotify,

    /// <summary>Unmaps at once without waiting for its DMA in flight.</summary>
    UnmapWithoutWaiting,

    /// <summary>Ignores the notify and keeps its mapping (a broken importer).</summary>
    KeepMapping,

    /// <summary>Hands the unmap to its own thread (revoke-2026 allows any bounded time).</summary>
    DeferUnmap,
}

/// <summary>
/// A dynamic dma-buf importer driving a device of the topology: it maps under the reservation lock, adds a BOOKKEEP
/// fence for each DMA, DMAs through its device's port, and reacts to notifies as <see cref="Behaviour"/> says. It
/// keeps the segments of its last mapping so a test can replay them late, as a buggy device would.
/// </summary>
internal sealed class TestImporter
{
    private readonly DmaBufHost _host;
    private DmaFence? _inFlight;
    private int _notifies;

    public TestImporter(DmaBufHost host, DmaBuffer dmabuf, DmaDevice dev, PcieFabric fabric, NotifyBehaviour behaviour = NotifyBehaviour.UnmapInNotify, DmaDirection dir = DmaDirection.Bidirectional)
    {
        _host = host;
        Behaviour = behaviour;
        Dir = dir;
        Port = new DmaPort(fabric, dev.Pci);
        Ops = new DmaBufAttachOps { AllowPeer2Peer = true, InvalidateMappings = OnNotify };
        AttachResult = host.DmaBufDynamicAttach(dmabuf, dev, Ops, this);
    }

    public NotifyBehaviour Behaviour { get; }

    public DmaDirection Dir { get; }

    public DmaPort Port { get; }

    public DmaBufAttachOps Ops { get; }

    public Result<DmaBufAttachment> AttachResult { get; }

    public DmaBufAttachment Attachment => AttachResult.Value;

    /// <summary>The current mapping (guarded by the reservation lock).</summary>
    public SgTable? Table { get; private set; }

    /// <summary>The DMA segments of the last mapping, kept after it was unmapped.</summary>
    public SgEntry[] LastSegments { get; private set; } = Array.Empty<SgEntry>();

    public int Notifies => Volatile.Read(ref _notifies);

    /// <summary>Set by a deferred unmap: whether it ran while the exporter was still waiting.</summary>
    public Func<bool>? DeferredUnmapCheck { get; set; }

    public bool? DeferredUnmapSawWait { get; private set; }

    public Thread? DeferredUnmapThread { get; private set; }

    /// <summary>Maps if nothing is mapped (under the lock); the mapping or the exporter's refusal.</summary>
    public Errno Map()
    {
        DmaResv resv = Attachment.DmaBuf.Resv;
        resv.Lock();
        try
        {
            return MapLocked();
        }
        finally
        {
            resv.Unlock();
        }
    }

    /// <summary>Maps if needed, adds a fence for one DMA and returns the segments to use; null when refused.</summary>
    public SgEntry[]? BeginDma(out DmaFence fence, out Errno error)
    {
        DmaResv resv = Attachment.DmaBuf.Resv;
        fence = new DmaFence();
        resv.Lock();
        try
        {
            error = MapLocked();
            if (error != Errno.None)
            {
                return null;
            }

            resv.AddFence(fence, DmaResvUsage.Bookkeep);
            Volatile.Write(ref _inFlight, fence);
            return LastSegments;
        }
        finally
        {
            resv.Unlock();
        }
    }

    /// <summary>Ends a DMA begun with <see cref="BeginDma"/>.</summary>
    public static void EndDma(DmaFence fence) => fence.Signal();

    public void Unmap()
    {
        DmaResv resv = Attachment.DmaBuf.Resv;
        resv.Lock();
        UnmapLocked();
        resv.Unlock();
    }

    public Errno Detach() => _host.DmaBufDetach(Attachment.DmaBuf, Attachment);

    private Errno MapLocked()
    {
        if (Table is not null)
        {
            return Errno.None;
        }

        Result<SgTable> mapped = _host.DmaBufMapAttachment(Attachment, Dir);
        if (!mapped.IsSuccess)
        {
            return mapped.Error;
        }

        Table = mapped.Value;
        LastSegments = Table.DmaSegments().ToArray();
        return Errno.None;
    }

    private void UnmapLocked()
    {
        if (Table is not null)
        {
            Assert.Equal(Errno.None, _host.DmaBufUnmapAttachment(Attachment, Table, Dir));
            Table = null;
        }
    }

    private void OnNotify(DmaBufAttachment attach)
    {
        Interlocked.Increment(ref _notifies);
        switch (Behaviour)
        {
            case NotifyBehaviour.UnmapInNotify:
                Volatile.Read(ref _inFlight)?.Wait(Timeout.InfiniteTimeSpan);
                UnmapLocked();
                break;
            case NotifyBehaviour.UnmapWithoutWaiting:
                UnmapLocked();
                break;
            case NotifyBehaviour.DeferUnmap:
                if (Table is not null)
                {
                    DeferredUnmapThread = new Thread(() =>
                    {
                        DeferredUnmapSawWait = DeferredUnmapCheck?.Invoke();
                        Unmap();
                    });
                    DeferredUnmapThread.Start();
                }

                break;
        }
    }
}
