using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Drivers.Nvme;

/// <content>Namespace discovery and disks (Linux <c>nvme_scan_work</c>, <c>nvme_scan_ns_list</c>, <c>nvme_alloc_ns</c>, <c>nvme_update_disk_info</c>).</content>
public sealed partial class NvmeDev
{
    /// <summary>NSIDs per Identify active namespace list.</summary>
    private const int NsListEntries = NvmeIdCtrl.SizeBytes / 4;

    private int _nextNsInstance = 1;

    /// <summary>
    /// <c>nvme_scan_work</c>: without I/O queues nothing is scanned; otherwise the active namespace list (CNS 02h, in
    /// pages of 1024 NSIDs), or NSIDs 1..NN one by one when the controller does not support the list.
    /// </summary>
    private Errno ScanNamespaces()
    {
        if (TagSet is null)
        {
            return Errno.None;
        }

        var nsids = new List<uint>();
        byte[] page = new byte[NvmeIdCtrl.SizeBytes];
        uint previous = 0;
        while (true)
        {
            NvmeSyncResult result = Identify(NvmeOpcode.IdCnsNsActiveList, previous, page);
            if (result.Error != Errno.None)
            {
                return result.Error;
            }

            if (result.Status != 0)
            {
                nsids.Clear();
                for (uint nsid = 1; nsid <= IdCtrl!.Nn; nsid++)
                {
                    nsids.Add(nsid);
                }

                break;
            }

            int i = 0;
            for (; i < NsListEntries; i++)
            {
                uint nsid = BinaryPrimitives.ReadUInt32LittleEndian(page.AsSpan(i * 4));
                if (nsid == 0)
                {
                    break;
                }

                nsids.Add(nsid);
                previous = nsid;
            }

            if (i < NsListEntries)
            {
                break;
            }
        }

        foreach (uint nsid in nsids)
        {
            Errno error = ScanNs(nsid, page);
            if (error is Errno.ETIMEDOUT or Errno.ENODEV)
            {
                return error;
            }
        }

        return Errno.None;
    }

    /// <summary>
    /// <c>nvme_scan_ns</c> + <c>nvme_alloc_ns</c>: Identify Namespace, then a disk with the namespace's block size and
    /// the controller's limits. A namespace of size 0 is skipped; a block size outside 512 B–4 KiB or one with
    /// metadata gets capacity 0, as Linux does for formats it cannot use.
    /// </summary>
    private Errno ScanNs(uint nsid, byte[] page)
    {
        NvmeSyncResult result = Identify(NvmeOpcode.IdCnsNs, nsid, page);
        if (!result.IsSuccess)
        {
            Info(string.Create(CultureInfo.InvariantCulture, $"Identify Namespace {nsid} failed ({(result.Error != Errno.None ? result.Error.ToString() : $"status 0x{result.Status:x}")})"));
            return result.Error != Errno.None ? result.Error : Errno.EIO;
        }

        NvmeIdNs id = NvmeIdNs.Parse(page);
        if (id.Nsze == 0)
        {
            return Errno.None;
        }

        bool usable = id.LbaDataShift is >= BlockGeometry.SectorShift and <= 12 && id.MetadataSize == 0;
        int lbaShift = usable ? id.LbaDataShift : BlockGeometry.SectorShift;
        ulong capacity = usable ? id.Nsze << (lbaShift - BlockGeometry.SectorShift) : 0;
        if (!usable)
        {
            Info(string.Create(CultureInfo.InvariantCulture, $"namespace {nsid}: unsupported LBA format (LBADS {id.LbaDataShift}, MS {id.MetadataSize}): capacity 0"));
        }

        string name = string.Create(CultureInfo.InvariantCulture, $"nvme{Instance}n{_nextNsInstance++}");
        var limits = new QueueLimits
        {
            LogicalBlockSize = 1u << lbaShift,
            MaxHwSectors = System.Math.Max(MaxHwSectors, 1u << (lbaShift - BlockGeometry.SectorShift)),
            MaxSegments = MaxDrvSegments(),
            VirtBoundaryMask = CtrlPageSize - 1,
            DmaAlignment = 3,
            Features = SupportsPciP2pdma() ? BlkFeatures.PciP2pdma : BlkFeatures.None,
        };
        var queue = new RequestQueue(TagSet!, limits, P2p);
        var disk = new BlockDevice(name, queue, capacity, new Device(name, Device));
        var ns = new NvmeNs(this, nsid, id, disk);
        queue.QueueData = ns;
        _namespaces.Add(ns);
        Info(string.Create(CultureInfo.InvariantCulture, $"{name}: {capacity} sectors of 512 bytes, {limits.LogicalBlockSize}-byte blocks"));
        return Errno.None;
    }

    /// <summary><c>nvme_max_drv_segments</c> against <see cref="MaxSegs"/>: one PRP page per controller page of the largest request, plus one.</summary>
    private int MaxDrvSegments() => (int)System.Math.Min(MaxSegs, (MaxHwSectors / (CtrlPageSize >> BlockGeometry.SectorShift)) + 1);

    /// <summary>
    /// <c>nvme_pci_supports_pci_p2pdma</c> = <c>dma_pci_p2pdma_supported</c>: true for dma-direct and the IOMMU's
    /// default DMA ops, which are the only ops this machine has.
    /// </summary>
    private static bool SupportsPciP2pdma() => true;
}
