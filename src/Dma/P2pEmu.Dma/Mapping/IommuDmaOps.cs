using System;
using System.Collections.Generic;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;
using P2pEmu.Iommu.Hardware;
using P2pEmu.Iommu.IovaAllocator;

namespace P2pEmu.Dma.Mapping;

/// <summary>
/// dma-iommu (drivers/iommu/dma-iommu.c) for the devices of one IOMMU group: DMA addresses are IOVAs from
/// the group's cookie, mapped in the group's default domain. Spec §3.2: BUS_ADDR segments keep their bus
/// address, are marked and take no IOVA; THRU_HOST_BRIDGE and host pages share one IOVA allocation;
/// NOT_SUPPORTED fails the table with EREMOTEIO.
/// </summary>
/// <remarks>
/// Mappings are visible to the device as they are made (the IOTLB caches no non-present entry), so
/// <c>dma_iova_sync</c> has nothing left to flush. Unmaps are strict or lazy as the cookie says (see
/// <see cref="DmaIommuCookie.QueueIova"/>); <c>dma_iova_unlink</c> and <c>dma_iova_destroy</c> are always strict here,
/// where Linux queues the IOVA of <c>dma_iova_destroy</c> in lazy mode.
/// </remarks>
internal sealed class IommuDmaOps : IDmaOps
{
    private const ulong PageSize = 4096;
    private const ulong PageMask = PageSize - 1;

    // The emptied table pages of one unmap on its way into the flush queue (Linux: the gather's freelist).
    [ThreadStatic]
    private static List<ulong>? s_freelist;

    private readonly IommuDomain _domain;
    private readonly DmaIommuCookie _cookie;
    private readonly P2pDmaHost _p2p;

    public IommuDmaOps(IommuDomain domain, DmaIommuCookie cookie, P2pDmaHost p2p)
    {
        _domain = domain;
        _cookie = cookie;
        _p2p = p2p;
    }

    public IommuDomain Domain => _domain;

    public DmaIommuCookie Cookie => _cookie;

    public DmaAddress MapPhys(DmaDevice dev, PhysAddress phys, ulong size, DmaDirection dir, DmaAttrs attrs)
    {
        ulong offset = phys.Value & PageMask;
        ulong length = AlignUp(size + offset);
        Iova iova = _cookie.IommuDmaAllocIova(length, dev.DmaMask, isPci: true);
        if (iova.Value == 0)
        {
            return DmaApi.DmaMappingError;
        }

        if (_domain.Map(iova, new BusAddress(phys.Value - offset), length, Prot(dir)) != Errno.None)
        {
            _cookie.IommuDmaFreeIova(iova, length);
            return DmaApi.DmaMappingError;
        }

        return new DmaAddress(iova.Value + offset);
    }

    public void UnmapPhys(DmaDevice dev, DmaAddress address, ulong size, DmaDirection dir, DmaAttrs attrs)
    {
        ulong offset = address.Value & PageMask;
        Unmap(new Iova(address.Value - offset), AlignUp(size + offset));
    }

    public Errno MapSg(DmaDevice dev, SgTable sgt, DmaDirection dir, DmaAttrs attrs)
    {
        var state = new PciP2pdmaMapState();
        var segments = new List<(Scatterlist Sg, bool Bus, ulong Where)>(sgt.Entries.Count);
        ulong total = 0;
        foreach (Scatterlist sg in sgt.Entries)
        {
            switch (_p2p.PciP2pdmaState(state, dev.Device, sg.Phys.Value))
            {
                case PciP2pdmaMapType.BusAddr:
                    segments.Add((sg, true, P2pDmaHost.PciP2pdmaBusAddrMap(state.Provider!, sg.Phys.Value)));
                    break;
                case PciP2pdmaMapType.None:
                case PciP2pdmaMapType.ThruHostBridge:
                    ulong offset = sg.Phys.Value & PageMask;
                    segments.Add((sg, false, total + offset));
                    total += AlignUp(offset + sg.Length);
                    break;
                default:
                    return Errno.EREMOTEIO;
            }
        }

        Iova iova = default;
        if (total != 0)
        {
            iova = _cookie.IommuDmaAllocIova(total, dev.DmaMask, isPci: true);
            if (iova.Value == 0)
            {
                return Errno.ENOMEM;
            }

            ulong mapped = 0;
            foreach ((Scatterlist sg, bool bus, ulong iovaOffset) in segments)
            {
                if (bus)
                {
                    continue;
                }

                ulong pageStart = iovaOffset & ~PageMask;
                ulong length = AlignUp((sg.Phys.Value & PageMask) + sg.Length);
                if (_domain.Map(new Iova(iova.Value + pageStart), new BusAddress(sg.Phys.Value & ~PageMask), length, Prot(dir)) != Errno.None)
                {
                    _domain.Unmap(iova, mapped);
                    _cookie.IommuDmaFreeIova(iova, total);
                    return Errno.EIO;
                }

                mapped = pageStart + length;
            }
        }

        Finalise(sgt, segments, iova.Value);
        return Errno.None;
    }

    public void UnmapSg(DmaDevice dev, SgTable sgt, DmaDirection dir, DmaAttrs attrs)
    {
        ulong start = ulong.MaxValue;
        ulong end = 0;
        for (int i = 0; i < sgt.Nents; i++)
        {
            Scatterlist sg = sgt.Entries[i];
            if (!sg.IsBusAddress)
            {
                start = Math.Min(start, sg.DmaAddress.Value & ~PageMask);
                end = Math.Max(end, AlignUp(sg.DmaAddress.Value + sg.DmaLength));
            }
        }

        if (start < end)
        {
            Unmap(new Iova(start), end - start);
        }

        Clear(sgt, 0);
        sgt.Nents = 0;
    }

    public bool IovaTryAlloc(DmaDevice dev, DmaIovaState state, PhysAddress phys, ulong size)
    {
        ulong offset = phys.Value & PageMask;
        ulong length = AlignUp(size + offset);
        Iova iova = _cookie.IommuDmaAllocIova(length, dev.DmaMask, isPci: true);
        state.UsesIova = iova.Value != 0;
        if (!state.UsesIova)
        {
            return false;
        }

        state.IovaBase = iova.Value;
        state.IovaLength = length;
        state.Address = new DmaAddress(iova.Value + offset);
        state.Size = size;
        state.LinkedBytes = 0;
        return true;
    }

    public Errno IovaLink(DmaDevice dev, DmaIovaState state, PhysAddress phys, ulong offset, ulong size, DmaDirection dir, DmaAttrs attrs)
    {
        if (!state.UsesIova || size == 0 || offset > state.Size || size > state.Size - offset)
        {
            return Errno.EINVAL;
        }

        // The range lands where its page offset matches the window's, as dma_iova_link requires.
        ulong at = state.Address.Value + offset;
        if ((at & PageMask) != (phys.Value & PageMask))
        {
            return Errno.EINVAL;
        }

        ulong length = AlignUp((phys.Value & PageMask) + size);
        Errno error = _domain.Map(new Iova(at & ~PageMask), new BusAddress(phys.Value & ~PageMask), length, Prot(dir));
        if (error == Errno.None)
        {
            state.LinkedBytes += size;
        }

        return error;
    }

    public Errno IovaSync(DmaDevice dev, DmaIovaState state, ulong offset, ulong size) => state.UsesIova ? Errno.None : Errno.EINVAL;

    public void IovaUnlink(DmaDevice dev, DmaIovaState state, ulong offset, ulong size, DmaDirection dir, DmaAttrs attrs)
    {
        ulong start = (state.Address.Value + offset) & ~PageMask;
        ulong end = AlignUp(state.Address.Value + offset + size);
        _domain.Unmap(new Iova(start), end - start);
        state.LinkedBytes -= Math.Min(size, state.LinkedBytes);
    }

    public void IovaFree(DmaDevice dev, DmaIovaState state)
    {
        if (state.UsesIova)
        {
            _cookie.IommuDmaFreeIova(new Iova(state.IovaBase), state.IovaLength);
            state.UsesIova = false;
        }
    }

    /// <summary>
    /// <c>__iommu_dma_unmap</c>: clears the range, then in strict mode invalidates it and frees the IOVA; in lazy mode
    /// (the cookie has a flush queue) queues both, with the table pages the unmap emptied, for the next batch flush.
    /// </summary>
    private void Unmap(Iova iova, ulong length)
    {
        if (_cookie.FlushQueueDomain is null)
        {
            _domain.Unmap(iova, length);
            _cookie.IommuDmaFreeIova(iova, length);
            return;
        }

        List<ulong> freelist = s_freelist ??= new List<ulong>();
        var gather = default(IommuIotlbGather);
        _domain.UnmapFast(iova, length, ref gather, freelist);
        _cookie.QueueIova(iova, length, freelist, _cookie.Domain.CurrentCpu);
    }

    /// <summary>
    /// Like <c>__finalise_sg</c> (segments carry their bus address, or their offset into the IOVA allocation): writes the DMA segments into the table's first entries, merging a segment
    /// into the previous one when their IOVAs are contiguous; bus-address segments stay on their own.
    /// </summary>
    private static void Finalise(SgTable sgt, List<(Scatterlist Sg, bool Bus, ulong Where)> segments, ulong iova)
    {
        var dma = new List<(ulong Address, ulong Length, bool Bus)>(segments.Count);
        foreach ((Scatterlist sg, bool bus, ulong where) in segments)
        {
            ulong address = bus ? where : iova + where;
            if (!bus && dma.Count > 0 && !dma[^1].Bus && dma[^1].Address + dma[^1].Length == address && dma[^1].Length + sg.Length <= uint.MaxValue)
            {
                dma[^1] = (dma[^1].Address, dma[^1].Length + sg.Length, false);
            }
            else
            {
                dma.Add((address, sg.Length, bus));
            }
        }

        for (int i = 0; i < dma.Count; i++)
        {
            Scatterlist entry = sgt.Entries[i];
            entry.DmaAddress = new DmaAddress(dma[i].Address);
            entry.DmaLength = (uint)dma[i].Length;
            entry.IsBusAddress = dma[i].Bus;
        }

        Clear(sgt, dma.Count);
        sgt.Nents = dma.Count;
    }

    private static void Clear(SgTable sgt, int from)
    {
        for (int i = from; i < sgt.Entries.Count; i++)
        {
            Scatterlist entry = sgt.Entries[i];
            entry.DmaAddress = default;
            entry.DmaLength = 0;
            entry.IsBusAddress = false;
        }
    }

    private static IommuProt Prot(DmaDirection dir) => dir switch
    {
        DmaDirection.ToDevice => IommuProt.Read,
        DmaDirection.FromDevice => IommuProt.Write,
        _ => IommuProt.ReadWrite,
    };

    private static ulong AlignUp(ulong value) => (value + PageMask) & ~PageMask;
}
