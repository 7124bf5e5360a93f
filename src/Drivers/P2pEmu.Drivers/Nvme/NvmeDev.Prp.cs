using System;
using System.Runtime.InteropServices;
using System.Threading;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.Mapping;
using P2pEmu.Emulator.Addressing;

namespace P2pEmu.Drivers.Nvme;

/// <content>
/// Data mapping (Linux <c>nvme_pci_setup_prps</c>, <c>nvme_unmap_data</c>): the request's DMA segments, from the
/// block layer's iterator (spec §3.4), become PRP1, PRP2 or a chain of PRP lists in pool pages.
/// </content>
public sealed partial class NvmeDev
{
    private const ulong PageMask = CtrlPageSize - 1;
    private const int PrpsPerPage = CtrlPageSize / sizeof(ulong);

    /// <summary>
    /// <c>nvme_map_data</c>: a request of one segment first tries <see cref="SetupDataSimple"/>; otherwise (or when that
    /// declines) SGLs when <see cref="UseSgls"/> says so, else PRPs, through the block layer's DMA iterator.
    /// </summary>
    private BlkStatus MapData(NvmeQueue queue, Request request, NvmeIod iod, ref NvmeCommand command)
    {
        bool sgl = UseSgls(queue, request, iod);
        if (request.NrPhysSegments == 1)
        {
            BlkStatus simple = SetupDataSimple(request, iod, sgl, ref command);
            if (simple != BlkStatus.Again)
            {
                return simple;
            }
        }

        return sgl ? SetupSgls(request, iod, ref command) : SetupPrps(request, iod, ref command);
    }

    /// <summary>
    /// <c>nvme_pci_setup_data_simple</c>: one segment of host memory is mapped with <c>dma_map_phys</c> (Linux:
    /// <c>dma_map_bvec</c>) directly, without the DMA iterator's IOVA window or a list page, and described by PRP1 (and
    /// PRP2 when it crosses into a second page) or by SGL1 as one Data Block. P2P data, and data that needs more than two
    /// PRP entries when PRPs are the choice, are declined (Again) for the iterator. Deviation: the PRP/SGL choice is
    /// <see cref="UseSgls"/>'s, as on the iterator path (Linux's simple path takes an SGL for a segment that does not
    /// fit two PRPs whatever <c>sgl_threshold</c> says), so the command is the same either way.
    /// </summary>
    /// <returns>Ok; Resource when the mapping failed; Again when the request is not simple.</returns>
    private BlkStatus SetupDataSimple(Request request, NvmeIod iod, bool sgl, ref NvmeCommand command)
    {
        BioVec bv = request.Segments[0];
        ulong prp1Offset = bv.Phys & PageMask;
        bool prpPossible = prp1Offset + bv.Length <= 2 * CtrlPageSize;
        if ((request.Flags & ReqFlags.P2pdma) != 0 || (!sgl && !prpPossible))
        {
            return BlkStatus.Again;
        }

        DmaAddress address = _dma.DmaMapPhys(DmaDev, new PhysAddress(bv.Phys), bv.Length, request.DmaDirection, BlkMqDma.Attrs(request));
        if (DmaApi.IsMappingError(address))
        {
            return BlkStatus.Resource;
        }

        iod.Mapped = true;
        iod.DmaVecs.Add((address, bv.Length));
        iod.TotalLen = bv.Length;
        if (sgl)
        {
            command.Flags = (byte)((command.Flags & 0x3F) | CmdSglMetabuf);
            SetSgl1(ref command, address.Value, bv.Length, SglFmtDataDesc);
            Interlocked.Increment(ref _sglCommands);
        }
        else
        {
            ulong firstPrpBytes = CtrlPageSize - prp1Offset;
            command.Prp1 = address.Value;
            command.Prp2 = bv.Length > firstPrpBytes ? address.Value + firstPrpBytes : 0;
        }

        return BlkStatus.Ok;
    }

    /// <summary>
    /// <c>nvme_pci_setup_prps</c>: maps the request's data and fills PRP1/PRP2. PRP1 points at the first byte (the only entry that may have an
    /// offset); the rest are page addresses: in PRP2 when one page remains, else in PRP lists whose last slot
    /// chains to the next list page. Records for unmap whether the data went out as P2P bus addresses.
    /// </summary>
    /// <returns>Ok; Inval for P2P memory the controller cannot reach; Resource when a mapping or list page failed;
    /// IoErr for segments PRPs cannot describe. On failure nothing stays mapped.</returns>
    private BlkStatus SetupPrps(Request request, NvmeIod iod, ref NvmeCommand command)
    {
        BlkDmaIter iter = iod.Iter;
        ulong length = request.PayloadBytes;
        if (!BlkMqDma.BlkRqDmaMapIterStart(_dma, request, DmaDev, iod.DmaState, iter))
        {
            return iter.Status == BlkStatus.Ok ? BlkStatus.IoErr : iter.Status;
        }

        iod.Mapped = true;
        iod.P2pBus = (request.Flags & ReqFlags.P2pdma) != 0;
        Record(iod, iter);
        ulong prp1 = iter.Addr.Value;
        ulong prp2 = 0;
        BlkStatus status = BlkStatus.Ok;

        ulong take = Math.Min(length, CtrlPageSize - (iter.Addr.Value & PageMask));
        Consume(iod, iter, take);
        length -= take;
        if (length != 0 && (iter.Len != 0 || Next(request, iod, iter, ref status)))
        {
            if (length <= CtrlPageSize)
            {
                prp2 = iter.Addr.Value;
                Consume(iod, iter, length);
                length = 0;
            }
            else if (_prpPool!.Alloc() is NvmeDmaPool.Block first)
            {
                iod.Descriptors.Add(first);
                prp2 = first.Dma.Value;
                status = FillPrpLists(request, iod, iter, first, ref length);
            }
            else
            {
                status = BlkStatus.Resource;
            }
        }

        if (status == BlkStatus.Ok && length != 0)
        {
            status = BlkStatus.IoErr;
        }

        command.Prp1 = prp1;
        command.Prp2 = prp2;
        if (status != BlkStatus.Ok)
        {
            UnmapData(request, iod);
        }

        return status;
    }

    /// <summary>
    /// Writes the page addresses of the remaining <paramref name="length"/> bytes into PRP list pages, starting with
    /// <paramref name="list"/>: a full page's last slot points to the next page, which takes over that slot's entry.
    /// Each page is built in the iod's scratch entries and copied out once, when it is full or the data ends.
    /// </summary>
    private BlkStatus FillPrpLists(Request request, NvmeIod iod, BlkDmaIter iter, NvmeDmaPool.Block list, ref ulong length)
    {
        ulong[] entries = iod.PrpEntries;
        int used = 0;
        BlkStatus status = BlkStatus.Ok;
        while (length != 0)
        {
            if (used == PrpsPerPage)
            {
                if (_prpPool!.Alloc() is not NvmeDmaPool.Block next)
                {
                    status = BlkStatus.Resource;
                    break;
                }

                iod.Descriptors.Add(next);
                ulong moved = entries[PrpsPerPage - 1];
                entries[PrpsPerPage - 1] = next.Dma.Value;
                _cpu.Write(list.Cpu.Value, MemoryMarshal.AsBytes(entries.AsSpan()));
                list = next;
                entries[0] = moved;
                used = 1;
            }

            ulong take = Math.Min(length, CtrlPageSize);
            if (iter.Len < take || (iter.Addr.Value & PageMask) != 0)
            {
                status = BlkStatus.IoErr; // "Incorrectly formed request": a segment PRPs cannot describe
                break;
            }

            entries[used++] = iter.Addr.Value;
            Consume(iod, iter, take);
            length -= take;
            if (length != 0 && iter.Len == 0 && !Next(request, iod, iter, ref status))
            {
                break;
            }
        }

        _cpu.Write(list.Cpu.Value, MemoryMarshal.AsBytes(entries.AsSpan(0, used)));
        return status;
    }

    /// <summary>
    /// <c>nvme_unmap_data</c>: nothing for BUS_ADDR P2P data, the IOVA window if one was used, else every direct
    /// mapping; then the PRP list pages go back to the pool.
    /// </summary>
    private void UnmapData(Request request, NvmeIod iod)
    {
        if (iod.Mapped)
        {
            ulong mapped = iod.DmaState.UsesIova ? iod.DmaState.LinkedBytes : iod.TotalLen;
            if (!BlkMqDma.BlkRqDmaUnmap(_dma, request, DmaDev, iod.DmaState, mapped))
            {
                foreach ((DmaAddress address, ulong bytes) in iod.DmaVecs)
                {
                    _dma.DmaUnmapPhys(DmaDev, address, bytes, request.DmaDirection, BlkMqDma.Attrs(request));
                }
            }

            iod.DmaVecs.Clear();
            iod.Mapped = false;
        }

        foreach (NvmeDmaPool.Block block in iod.Descriptors)
        {
            _prpPool?.Free(block);
        }

        iod.Descriptors.Clear();
    }

    private bool Next(Request request, NvmeIod iod, BlkDmaIter iter, ref BlkStatus status)
    {
        if (!BlkMqDma.BlkRqDmaMapIterNext(_dma, request, DmaDev, iod.DmaState, iter))
        {
            status = iter.Status == BlkStatus.Ok ? BlkStatus.IoErr : iter.Status;
            return false;
        }

        Record(iod, iter);
        return true;
    }

    /// <summary>Keeps a direct (non-IOVA, non-bus) mapping for unmap (<c>iod-&gt;dma_vecs</c>).</summary>
    private static void Record(NvmeIod iod, BlkDmaIter iter)
    {
        if (!iod.P2pBus && !iod.DmaState.UsesIova)
        {
            iod.DmaVecs.Add((iter.Addr, iter.Len));
        }
    }

    private static void Consume(NvmeIod iod, BlkDmaIter iter, ulong bytes)
    {
        iod.TotalLen += bytes;
        iter.Addr = new DmaAddress(iter.Addr.Value + bytes);
        iter.Len -= bytes;
    }
}
