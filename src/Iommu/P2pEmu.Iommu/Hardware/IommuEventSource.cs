using System.Diagnostics.Tracing;

namespace P2pEmu.Iommu.Hardware;

/// <summary>
/// EventSource <c>P2pEmu.Iommu</c>: translation faults, IOTLB misses and invalidations, and domain map/unmap.
/// Every payload is (long, long, long), which binds to a typed <c>WriteEvent</c> overload and allocates nothing
/// with or without a session (STYLE R12); call sites check <see cref="EventSource.IsEnabled(EventLevel, EventKeywords)"/> first.
/// Event ids and keywords are never reused.
/// </summary>
[EventSource(Name = "P2pEmu.Iommu")]
internal sealed class IommuEventSource : EventSource
{
    public static readonly IommuEventSource Log = new();

    private IommuEventSource()
    {
    }

    /// <summary>Event keywords; values are never reused.</summary>
    public static class Keywords
    {
        /// <summary>Translation faults.</summary>
        public const EventKeywords Faults = (EventKeywords)0x1;

        /// <summary>IOTLB invalidations.</summary>
        public const EventKeywords Invalidations = (EventKeywords)0x2;

        /// <summary>IOTLB misses (one per page-table walk; verbose).</summary>
        public const EventKeywords Misses = (EventKeywords)0x4;

        /// <summary>Domain map and unmap calls.</summary>
        public const EventKeywords Mappings = (EventKeywords)0x8;

        /// <summary>IOVA allocations and frees of the DMA API's cookies (verbose: one per mapping).</summary>
        public const EventKeywords Iova = (EventKeywords)0x10;
    }

    /// <summary>
    /// A translation fault: requester ID (segment &lt;&lt; 16 | BDF), the wire address, and the details packed as
    /// domain id (bits 63:24), <c>AccessKind</c> (bits 23:16), <see cref="IommuFaultReason"/> (bits 15:8) and level (bits 7:0).
    /// </summary>
    [Event(1, Level = EventLevel.Warning, Keywords = Keywords.Faults)]
    public void TranslationFault(long requesterId, long address, long details) => WriteEvent(1, requesterId, address, details);

    /// <summary>An IOTLB invalidation: the domain id (-1: every domain), the first IOVA, and the size in bytes (-1: the whole domain).</summary>
    [Event(2, Level = EventLevel.Informational, Keywords = Keywords.Invalidations)]
    public void IotlbInvalidation(long domainId, long iova, long sizeBytes) => WriteEvent(2, domainId, iova, sizeBytes);

    /// <summary>An IOTLB miss that makes the walker read the page tables: requester ID, the IOVA, the domain id.</summary>
    [Event(3, Level = EventLevel.Verbose, Keywords = Keywords.Misses)]
    public void IotlbMiss(long requesterId, long iova, long domainId) => WriteEvent(3, requesterId, iova, domainId);

    /// <summary>A successful <see cref="IommuDomain.Map"/>: domain id, first IOVA, size in bytes.</summary>
    [Event(4, Level = EventLevel.Informational, Keywords = Keywords.Mappings)]
    public void Mapped(long domainId, long iova, long sizeBytes) => WriteEvent(4, domainId, iova, sizeBytes);

    /// <summary>An <see cref="IommuDomain.Unmap"/>: domain id, first IOVA asked for, bytes unmapped.</summary>
    [Event(5, Level = EventLevel.Informational, Keywords = Keywords.Mappings)]
    public void Unmapped(long domainId, long iova, long sizeBytes) => WriteEvent(5, domainId, iova, sizeBytes);

    /// <summary><c>iommu_dma_alloc_iova</c>: the cookie's id, the IOVA (0: the space is exhausted), the size in bytes.</summary>
    [Event(6, Level = EventLevel.Verbose, Keywords = Keywords.Iova)]
    public void IovaAlloc(long cookieId, long iova, long sizeBytes) => WriteEvent(6, cookieId, iova, sizeBytes);

    /// <summary><c>iommu_dma_free_iova</c>: the cookie's id, the IOVA, the size in bytes.</summary>
    [Event(7, Level = EventLevel.Verbose, Keywords = Keywords.Iova)]
    public void IovaFree(long cookieId, long iova, long sizeBytes) => WriteEvent(7, cookieId, iova, sizeBytes);
}
