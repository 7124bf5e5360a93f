using System;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Dma.Block;

/// <summary>
/// block/blk-mq-dma.c: maps a request's data for its device segment by segment (spec §3.4). The P2P decision comes
/// from the request's first segment: BUS_ADDR data gets bus addresses and stays flagged P2P (unmapping it is a
/// no-op); THRU_HOST_BRIDGE data takes the ordinary path with <c>DMA_ATTR_MMIO</c>; NOT_SUPPORTED fails with
/// <see cref="BlkStatus.Inval"/> (EINVAL for the I/O). Where the device's IOMMU can take the whole request in one
/// IOVA window (<c>dma_iova_try_alloc</c>), the request becomes a single DMA segment.
/// </summary>
public static class BlkMqDma
{
    private const ulong IommuMergeBoundary = BlockGeometry.PageSize - 1;

    /// <summary>
    /// <c>blk_rq_dma_map_iter_start</c>: maps the first DMA segment of <paramref name="request"/> into
    /// <paramref name="iter"/>. <paramref name="state"/> must be kept for <see cref="BlkRqDmaUnmap"/>.
    /// </summary>
    /// <returns>True when a segment was mapped; false when there is none or mapping failed (see <see cref="BlkDmaIter.Status"/>).</returns>
    public static bool BlkRqDmaMapIterStart(DmaApi dma, Request request, DmaDevice dev, DmaIovaState state, BlkDmaIter iter)
    {
        ArgumentNullException.ThrowIfNull(dma);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(dev);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(iter);
        state.UsesIova = false;
        iter.P2pdma.Provider = null;
        iter.P2pdma.MapType = PciP2pdmaMapType.Unknown;
        iter.Status = BlkStatus.Ok;
        iter.NextSegment = 0;
        if (request.Segments.Count == 0)
        {
            return false;
        }

        BioVec first = request.Segments[iter.NextSegment++];
        if ((request.Flags & ReqFlags.P2pdma) != 0)
        {
            switch (dma.P2p.PciP2pdmaState(iter.P2pdma, dev.Device, first.Phys))
            {
                case PciP2pdmaMapType.BusAddr:
                    return MapBus(iter, first);
                case PciP2pdmaMapType.ThruHostBridge:
                    // Through the host bridge the data is treated like memory, here and at unmap.
                    request.Flags = (request.Flags & ~ReqFlags.P2pdma) | ReqFlags.Mmio;
                    break;
                default:
                    iter.Status = BlkStatus.Inval;
                    return false;
            }
        }

        if (CanDmaMapIova(request) && dma.DmaIovaTryAlloc(dev, state, new PhysAddress(first.Phys), request.PayloadBytes))
        {
            return MapIova(dma, request, dev, state, iter, first);
        }

        return MapDirect(dma, request, dev, iter, first);
    }

    /// <summary><c>blk_rq_dma_map_iter_next</c>: maps the next DMA segment; false at the end or on failure.</summary>
    public static bool BlkRqDmaMapIterNext(DmaApi dma, Request request, DmaDevice dev, DmaIovaState state, BlkDmaIter iter)
    {
        ArgumentNullException.ThrowIfNull(dma);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(iter);
        if (state.UsesIova || iter.NextSegment >= request.Segments.Count)
        {
            return false;
        }

        BioVec vec = request.Segments[iter.NextSegment++];
        return iter.P2pdma.MapType == PciP2pdmaMapType.BusAddr ? MapBus(iter, vec) : MapDirect(dma, request, dev, iter, vec);
    }

    /// <summary>
    /// <c>blk_rq_dma_unmap</c>: undoes what the iterator mapped where the block layer can — nothing for BUS_ADDR P2P
    /// data, the IOVA window when one was used, nothing for dma-direct.
    /// </summary>
    /// <returns>True when done; false when the driver must unmap each segment it used (<c>dma_unmap_phys</c>).</returns>
    public static bool BlkRqDmaUnmap(DmaApi dma, Request request, DmaDevice dev, DmaIovaState state, ulong mappedLength)
    {
        ArgumentNullException.ThrowIfNull(dma);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(dev);
        ArgumentNullException.ThrowIfNull(state);
        if ((request.Flags & ReqFlags.P2pdma) != 0)
        {
            return true;
        }

        if (state.UsesIova)
        {
            dma.DmaIovaDestroy(dev, state, mappedLength, request.DmaDirection, Attrs(request));
            return true;
        }

        return !dev.UsesIommu;
    }

    /// <summary>The attributes a request's mappings use: <c>DMA_ATTR_MMIO</c> for THRU_HOST_BRIDGE P2P data.</summary>
    public static DmaAttrs Attrs(Request request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return (request.Flags & ReqFlags.Mmio) != 0 ? DmaAttrs.Mmio : DmaAttrs.None;
    }

    /// <summary>
    /// <c>blk_can_dma_map_iova</c>: the IOVA path coalesces at the IOMMU page size, so the queue's segments must
    /// respect a virtual boundary at least that coarse.
    /// </summary>
    private static bool CanDmaMapIova(Request request) => ((request.Queue.Limits.VirtBoundaryMask + 1) & IommuMergeBoundary) == 0;

    private static bool MapBus(BlkDmaIter iter, BioVec vec)
    {
        iter.Addr = new DmaAddress(P2pDmaHost.PciP2pdmaBusAddrMap(iter.P2pdma.Provider!, vec.Phys));
        iter.Len = vec.Length;
        return true;
    }

    private static bool MapDirect(DmaApi dma, Request request, DmaDevice dev, BlkDmaIter iter, BioVec vec)
    {
        DmaAddress address = dma.DmaMapPhys(dev, new PhysAddress(vec.Phys), vec.Length, request.DmaDirection, Attrs(request));
        if (DmaApi.IsMappingError(address))
        {
            iter.Status = BlkStatus.Resource;
            return false;
        }

        iter.Addr = address;
        iter.Len = vec.Length;
        return true;
    }

    /// <summary>
    /// <c>blk_rq_dma_map_iova</c>: links every segment, in order, into the window; the request is then one DMA
    /// segment. Deviation: a link failure tears the window down and fails the request (Linux goes on to sync the
    /// part it linked).
    /// </summary>
    private static bool MapIova(DmaApi dma, Request request, DmaDevice dev, DmaIovaState state, BlkDmaIter iter, BioVec first)
    {
        ulong mapped = 0;
        BioVec vec = first;
        while (true)
        {
            Errno error = dma.DmaIovaLink(dev, state, new PhysAddress(vec.Phys), mapped, vec.Length, request.DmaDirection, Attrs(request));
            if (error != Errno.None)
            {
                dma.DmaIovaDestroy(dev, state, mapped, request.DmaDirection, Attrs(request));
                iter.Status = BlkErrors.ErrnoToBlkStatus(error);
                return false;
            }

            mapped += vec.Length;
            if (iter.NextSegment >= request.Segments.Count)
            {
                break;
            }

            vec = request.Segments[iter.NextSegment++];
        }

        Errno sync = dma.DmaIovaSync(dev, state, 0, mapped);
        if (sync != Errno.None)
        {
            dma.DmaIovaDestroy(dev, state, mapped, request.DmaDirection, Attrs(request));
            iter.Status = BlkErrors.ErrnoToBlkStatus(sync);
            return false;
        }

        iter.Addr = state.Address;
        iter.Len = state.Size;
        return true;
    }
}
