using System;
using System.Collections.Generic;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Dma.DmaBuf;

/// <content>The phys-based mapping helper for MMIO exporters (spec §3.3).</content>
public sealed partial class DmaBufHost
{
    /// <summary>The largest DMA segment of a table (<c>UINT_MAX</c>): longer runs are split into chunks of this size.</summary>
    public const ulong MaxSegmentBytes = uint.MaxValue;

    /// <summary>
    /// <c>dma_buf_phys_vec_to_sgt</c>: maps MMIO ranges of <paramref name="provider"/> for the attachment's device, by
    /// the map type between them. BUS_ADDR: each range keeps its bus address (<c>paddr + bus_offset</c>), no IOVA.
    /// THRU_HOST_BRIDGE: with an IOMMU, every range is linked in order into one contiguous IOVA window of
    /// <paramref name="size"/> bytes (one DMA run); without one, each range is mapped with dma-direct and keeps its CPU
    /// physical address. The table has no CPU side; runs longer than <see cref="MaxSegmentBytes"/> are split.
    /// Needs the reservation lock.
    /// </summary>
    /// <returns>
    /// The table; EINVAL when the map type is neither BUS_ADDR nor THRU_HOST_BRIDGE, or (recorded) without a provider;
    /// a mapping error (EINVAL from a link, ENOMEM from dma-direct) with nothing left mapped; ENOLCK (recorded)
    /// without the reservation lock.
    /// </returns>
    public Result<SgTable> DmaBufPhysVecToSgt(DmaBufAttachment attach, P2pProvider? provider, IReadOnlyList<PhysVec> physVec, ulong size, DmaDirection dir)
    {
        Own(attach);
        ArgumentNullException.ThrowIfNull(physVec);
        Errno error = attach.DmaBuf.Resv.AssertHeld("dma_buf_phys_vec_to_sgt");
        if (error != Errno.None)
        {
            return error;
        }

        if (provider is null)
        {
            Violate(DmaBufViolationKind.NoProvider, "dma_buf_phys_vec_to_sgt", "no p2pdma provider: the helper is for MMIO only");
            return Errno.EINVAL;
        }

        DmaDevice dev = attach.Dev;
        var segments = new List<(ulong, uint)>();
        DmaIovaState? state = null;
        switch (P2p.PciP2pdmaMapTypeOf(provider, dev.Device))
        {
            case PciP2pdmaMapType.BusAddr:
                foreach (PhysVec vec in physVec)
                {
                    AddChunks(segments, P2pDmaHost.PciP2pdmaBusAddrMap(provider, vec.Paddr), vec.Len);
                }

                break;
            case PciP2pdmaMapType.ThruHostBridge:
                state = new DmaIovaState();
                error = Dma.DmaIovaTryAlloc(dev, state, new PhysAddress(0), size)
                    ? LinkIova(dev, state, physVec, size, dir, segments)
                    : MapDirect(dev, physVec, dir, segments);
                if (error != Errno.None)
                {
                    return error;
                }

                break;
            default:
                return Errno.EINVAL;
        }

        SgTable table = SgTable.DmaOnly(segments);
        _physVecTables[table] = new PhysVecMapping(state, size);
        return Result.Ok(table);
    }

    /// <summary>
    /// <c>dma_buf_free_sgt</c>: undoes <see cref="DmaBufPhysVecToSgt"/> the way it was made (nothing for BUS_ADDR, the
    /// IOVA window, or each dma-direct mapping). Needs the reservation lock.
    /// </summary>
    /// <returns>None; ENOLCK (recorded, nothing done) without the reservation lock.</returns>
    /// <exception cref="ArgumentException"><paramref name="sgt"/> did not come from <see cref="DmaBufPhysVecToSgt"/> or was freed.</exception>
    public Errno DmaBufFreeSgt(DmaBufAttachment attach, SgTable sgt, DmaDirection dir)
    {
        Own(attach);
        ArgumentNullException.ThrowIfNull(sgt);
        Errno error = attach.DmaBuf.Resv.AssertHeld("dma_buf_free_sgt");
        if (error != Errno.None)
        {
            return error;
        }

        if (!_physVecTables.TryRemove(sgt, out PhysVecMapping? mapping))
        {
            throw new ArgumentException("The table did not come from dma_buf_phys_vec_to_sgt, or was freed already.", nameof(sgt));
        }

        if (mapping.State is { UsesIova: true } state)
        {
            Dma.DmaIovaDestroy(attach.Dev, state, mapping.Size, dir, DmaAttrs.Mmio);
        }
        else if (mapping.State is not null)
        {
            for (int i = 0; i < sgt.Nents; i++)
            {
                Scatterlist sg = sgt.Entries[i];
                Dma.DmaUnmapPhys(attach.Dev, sg.DmaAddress, sg.DmaLength, dir, DmaAttrs.Mmio);
            }
        }

        return Errno.None;
    }

    /// <summary><c>fill_sg_entry</c>: one DMA run as entries of at most <see cref="MaxSegmentBytes"/>.</summary>
    private static void AddChunks(List<(ulong, uint)> segments, ulong address, ulong length)
    {
        for (ulong done = 0; done < length; done += MaxSegmentBytes)
        {
            segments.Add((unchecked(address + done), (uint)Math.Min(length - done, MaxSegmentBytes)));
        }
    }

    private Errno LinkIova(DmaDevice dev, DmaIovaState state, IReadOnlyList<PhysVec> physVec, ulong size, DmaDirection dir, List<(ulong, uint)> segments)
    {
        ulong mapped = 0;
        foreach (PhysVec vec in physVec)
        {
            Errno error = Dma.DmaIovaLink(dev, state, new PhysAddress(vec.Paddr), mapped, vec.Len, dir, DmaAttrs.Mmio);
            if (error != Errno.None)
            {
                Dma.DmaIovaDestroy(dev, state, mapped, dir, DmaAttrs.Mmio);
                return error;
            }

            mapped += vec.Len;
        }

        if (mapped != size)
        {
            Log($"WARNING: dma_buf_phys_vec_to_sgt: linked {mapped} bytes of a {size}-byte window");
        }

        Errno synced = Dma.DmaIovaSync(dev, state, 0, mapped);
        if (synced != Errno.None)
        {
            Dma.DmaIovaDestroy(dev, state, mapped, dir, DmaAttrs.Mmio);
            return synced;
        }

        AddChunks(segments, state.Address.Value, mapped);
        return Errno.None;
    }

    private Errno MapDirect(DmaDevice dev, IReadOnlyList<PhysVec> physVec, DmaDirection dir, List<(ulong, uint)> segments)
    {
        var mapped = new List<(DmaAddress Address, ulong Length)>();
        foreach (PhysVec vec in physVec)
        {
            DmaAddress address = Dma.DmaMapPhys(dev, new PhysAddress(vec.Paddr), vec.Len, dir, DmaAttrs.Mmio);
            if (DmaApi.IsMappingError(address))
            {
                foreach ((DmaAddress done, ulong length) in mapped)
                {
                    Dma.DmaUnmapPhys(dev, done, length, dir, DmaAttrs.Mmio);
                }

                return Errno.ENOMEM;
            }

            mapped.Add((address, vec.Len));
            AddChunks(segments, address.Value, vec.Len);
        }

        return Errno.None;
    }
}
