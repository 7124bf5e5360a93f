using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using P2pEmu.Dma.Block;

namespace P2pEmu.Drivers.Nvme;

/// <content>
/// Data mapping (Linux <c>nvme_pci_setup_prps</c>, <c>nvme_unmap_data</c>): the request's DMA segments, from the
/// block layer's iterator (spec §3.4), become PRP1, PRP2 or a chain of PRP lists in pool pages.
/// </content>
public sealed partial class NvmeDev
{
    private const ulong PageMask = CtrlPageSize - 1;
    private const int PrpsPerPage = CtrlPageSize / sizeof(ulong);

    /// <summary><c>nvme_map_data</c>: SGLs when <see cref="UseSgls"/> says so, else PRPs.</summary>
    private BlkStatus MapData(NvmeQueue queue, Request request, NvmeIod iod, ref NvmeCommand command) =>
        UseSgls(queue, request, iod) ? SetupSgls(request, iod, ref command) : SetupPrps(request, iod, ref command);

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
        var lists = new List<(NvmeDmaPool.Block Block, ulong[] Entries)>();
        int used = 0;

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
                lists.Add((first, new ulong[PrpsPerPage]));
                prp2 = first.Dma.Value;
                while (length != 0)
                {
                    if (used == PrpsPerPage)
                    {
                        // A full list: its last slot points to a new list, which takes over that slot's entry.
                        if (_prpPool.Alloc() is not NvmeDmaPool.Block next)
                        {
                            status = BlkStatus.Resource;
                            break;
                        }

                        iod.Descriptors.Add(next);
                        ulong[] previous = lists[^1].Entries;
                        var entries = new ulong[PrpsPerPage];
                        entries[0] = previous[PrpsPerPage - 1];
                        previous[PrpsPerPage - 1] = next.Dma.Value;
                        lists.Add((next, entries));
                        used = 1;
                    }

                    take = Math.Min(length, CtrlPageSize);
                    if (iter.Len < take || (iter.Addr.Value & PageMask) != 0)
                    {
                        status = BlkStatus.IoErr; // "Incorrectly formed request": a segment PRPs cannot describe
                        break;
                    }

                    lists[^1].Entries[used++] = iter.Addr.Value;
                    Consume(iod, iter, take);
                    length -= take;
                    if (length != 0 && iter.Len == 0 && !Next(request, iod, iter, ref status))
                    {
                        break;
                    }
                }
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

        for (int i = 0; i < lists.Count; i++)
        {
            _cpu.Write(lists[i].Block.Cpu.Value, MemoryMarshal.AsBytes(lists[i].Entries.AsSpan(0, i == lists.Count - 1 ? used : PrpsPerPage)));
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
                foreach ((Emulator.Addressing.DmaAddress address, ulong bytes) in iod.DmaVecs)
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
        iter.Addr = new Emulator.Addressing.DmaAddress(iter.Addr.Value + bytes);
        iter.Len -= bytes;
    }
}
