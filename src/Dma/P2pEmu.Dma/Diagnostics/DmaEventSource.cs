using System.Diagnostics.Tracing;
using P2pEmu.Dma.Mapping;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Dma.Diagnostics;

/// <summary>
/// EventSource <c>P2pEmu.Dma</c>: the host DMA software's decisions and lifecycle steps — P2P verdicts as the map-type
/// cache fills, dma-buf attach, detach, map, unmap and the notifications that revoke or move a buffer, and the
/// teardown of a P2PDMA provider. Payloads are (long, long, long), which bind to a typed <c>WriteEvent</c> overload and
/// allocate nothing; devices are named by requester ID (segment &lt;&lt; 16 | BDF) and dma-bufs by their inode number.
/// Event ids and keywords are never reused.
/// </summary>
[EventSource(Name = "P2pEmu.Dma")]
public sealed class DmaEventSource : EventSource
{
    public static readonly DmaEventSource Log = new();

    private DmaEventSource()
    {
    }

    /// <summary>Event keywords; values are never reused.</summary>
    public static class Keywords
    {
        /// <summary>P2P verdicts (<c>calc_map_type_and_dist</c>, once per provider and client: the cache keeps them).</summary>
        public const EventKeywords Verdicts = (EventKeywords)0x1;

        /// <summary>dma-buf attach, detach, map, unmap, move_notify and invalidate_mappings.</summary>
        public const EventKeywords DmaBuf = (EventKeywords)0x2;

        /// <summary>P2PDMA provider teardown.</summary>
        public const EventKeywords Providers = (EventKeywords)0x4;
    }

    /// <summary>
    /// A P2P verdict computed and cached: provider and client requester IDs, and the <c>pci_p2pdma_map_type</c>
    /// (bits 39:32) with the distance <c>calc_map_type_and_dist</c> computed (bits 31:0) — also for NOT_SUPPORTED, where
    /// <c>pci_p2pdma_distance</c> then returns -1.
    /// </summary>
    [Event(1, Level = EventLevel.Informational, Keywords = Keywords.Verdicts)]
    public void MapType(long provider, long client, long mapTypeAndDistance) => WriteEvent(1, provider, client, mapTypeAndDistance);

    /// <summary><c>dma_buf_attach</c> / <c>dma_buf_dynamic_attach</c> succeeded: the buffer, the importer, 1 for a dynamic importer.</summary>
    [Event(2, Level = EventLevel.Informational, Keywords = Keywords.DmaBuf)]
    public void DmaBufAttach(long dmabuf, long importer, long dynamic) => WriteEvent(2, dmabuf, importer, dynamic);

    /// <summary><c>dma_buf_detach</c>: the buffer, the importer, the mappings it left behind (an importer bug when not 0).</summary>
    [Event(3, Level = EventLevel.Informational, Keywords = Keywords.DmaBuf)]
    public void DmaBufDetach(long dmabuf, long importer, long leftMapped) => WriteEvent(3, dmabuf, importer, leftMapped);

    /// <summary><c>dma_buf_map_attachment</c> succeeded: the buffer, the importer, the bytes the table maps.</summary>
    [Event(4, Level = EventLevel.Informational, Keywords = Keywords.DmaBuf)]
    public void DmaBufMap(long dmabuf, long importer, long bytes) => WriteEvent(4, dmabuf, importer, bytes);

    /// <summary><c>dma_buf_unmap_attachment</c>: the buffer, the importer, the bytes the table mapped.</summary>
    [Event(5, Level = EventLevel.Informational, Keywords = Keywords.DmaBuf)]
    public void DmaBufUnmap(long dmabuf, long importer, long bytes) => WriteEvent(5, dmabuf, importer, bytes);

    /// <summary>
    /// <c>dma_buf_move_notify</c> (kind 0) or <c>dma_buf_invalidate_mappings</c> (kind 1, revoke-2026): the buffer, the
    /// attachments told, the kind.
    /// </summary>
    [Event(6, Level = EventLevel.Informational, Keywords = Keywords.DmaBuf)]
    public void DmaBufNotify(long dmabuf, long attachments, long kind) => WriteEvent(6, dmabuf, attachments, kind);

    /// <summary>A provider's P2PDMA state torn down (<c>pci_p2pdma_release</c>): the provider, the bytes of its pool, the time it waited for page references, in nanoseconds.</summary>
    [Event(7, Level = EventLevel.Informational, Keywords = Keywords.Providers)]
    public void ProviderTeardown(long provider, long poolBytes, long waitedNanoseconds) => WriteEvent(7, provider, poolBytes, waitedNanoseconds);

    /// <summary>A function's requester ID with its PCI segment: segment (bits 31:16), bus, device and function (bits 15:0).</summary>
    internal static long RequesterId(PciFunction function) => ((long)function.HostBridge.Segment << 16) | function.Bdf.Value;

    /// <summary>The bytes a mapped table covers.</summary>
    internal static long MappedBytes(SgTable table)
    {
        long bytes = 0;
        foreach (SgEntry segment in table.DmaSegments())
        {
            bytes += (long)segment.Length;
        }

        return bytes;
    }
}
