using System;
using System.Collections.Generic;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Dma.Userspace;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Drivers.Vfio;

/// <content>The dma-buf exporter (LR drivers/vfio/pci/vfio_pci_dmabuf.c): export, revoke and un-revoke, cleanup.</content>
public sealed partial class VfioPciCoreDevice
{
    /// <summary>
    /// <c>vfio_pci_core_get_dmabuf_phys</c> + <c>vfio_pci_core_fill_phys_vec</c>: the BAR's naked provider and the
    /// ranges as CPU physical addresses.
    /// </summary>
    private Errno GetDmaBufPhys(int bar, ReadOnlySpan<VfioRegionDmaRange> ranges, PhysVec[] physVec, out P2pProvider? provider)
    {
        provider = Driver.P2p.PcimP2pdmaProvider(Pdev, bar);
        if (provider is null)
        {
            return Errno.EINVAL;
        }

        PciBar resource = Pdev.GetBar(bar)!;
        ulong start = unchecked(resource.Address - provider.BusOffset);
        ulong maxAddress = unchecked(start + resource.SizeBytes);
        for (int i = 0; i < ranges.Length; i++)
        {
            if (ranges[i].Length == 0)
            {
                return Errno.EINVAL;
            }

            ulong paddr = unchecked(start + ranges[i].Offset);
            if (paddr < start)
            {
                return Errno.EOVERFLOW;
            }

            ulong end = unchecked(paddr + ranges[i].Length);
            if (end < paddr)
            {
                return Errno.EOVERFLOW;
            }

            if (end > maxAddress)
            {
                return Errno.EINVAL;
            }

            physVec[i] = new PhysVec(paddr, ranges[i].Length);
        }

        return Errno.None;
    }

    /// <summary>
    /// The export half of <c>vfio_pci_core_feature_dma_buf</c>, after the ranges were validated: provider and physical
    /// ranges, a registration reference, <c>dma_buf_export</c>, the initial revoked state (memory decode off), the
    /// device's list, and a descriptor in <paramref name="process"/>.
    /// </summary>
    private Result<int> ExportDmaBuf(Process process, in VfioDeviceFeatureDmaBuf request, ReadOnlySpan<VfioRegionDmaRange> ranges, ulong length)
    {
        var physVec = new PhysVec[ranges.Length];
        Errno error = GetDmaBufPhys((int)request.RegionIndex, ranges, physVec, out P2pProvider? provider);
        if (error != Errno.None)
        {
            return error;
        }

        if (!TryGetRegistration())
        {
            return Errno.ENODEV;
        }

        var priv = new VfioPciDmaBuf(this, (int)request.RegionIndex, length, physVec, provider!);
        var info = new DmaBufExportInfo($"vfio-pci {Pdev.Address} BAR{request.RegionIndex}", VfioPciDmaBuf.Ops(Driver.Profile), length, priv)
        {
            Flags = (int)request.OpenFlags,
        };
        Result<DmaBuf> exported = DmaBufs.DmaBufExport(info);
        if (!exported.IsSuccess)
        {
            PutRegistration();
            return exported.Error;
        }

        DmaBuf dmabuf = exported.Value;
        priv.DmaBuf = dmabuf;
        _memoryLock.DownWrite();
        dmabuf.Resv.Lock();
        priv.Revoked = !MemoryEnabled;
        lock (_dmabufs)
        {
            _dmabufs.Add(priv);
        }

        dmabuf.Resv.Unlock();
        _memoryLock.UpWrite();

        // dma_buf_fd consumes the export's reference; on failure, dropping it releases the buffer (which leaves the
        // list and drops the registration).
        Result<int> fd = DmaBufs.DmaBufFd(dmabuf, process, (int)request.OpenFlags);
        if (!fd.IsSuccess)
        {
            DmaBufs.DmaBufPut(dmabuf);
        }

        return fd;
    }

    /// <summary>The exporter's <c>release</c>: leaves the list if close has not already, and drops the registration.</summary>
    internal void ReleaseDmaBuf(VfioPciDmaBuf priv)
    {
        _memoryLock.DownWrite();
        lock (_dmabufs)
        {
            _dmabufs.Remove(priv);
        }

        _memoryLock.UpWrite();
        PutRegistration();
    }

    /// <summary>
    /// <c>vfio_pci_dma_buf_move</c>, with <c>memory_lock</c> held for writing: every buffer whose file is live and whose
    /// state differs is revoked or un-revoked. The file references taken go to <paramref name="deferredPuts"/>, to be
    /// dropped after <c>memory_lock</c>.
    /// </summary>
    private void MoveLocked(bool revoked, List<OpenFile> deferredPuts)
    {
        System.Diagnostics.Debug.Assert(_memoryLock.IsWriteHeldByCurrentThread, "vfio_pci_dma_buf_move needs memory_lock held for writing");
        foreach (VfioPciDmaBuf priv in DmaBufList)
        {
            if (!priv.DmaBuf.File.TryGetActive())
            {
                continue;
            }

            deferredPuts.Add(priv.DmaBuf.File);
            if (priv.Revoked == revoked)
            {
                continue;
            }

            if (revoked)
            {
                Revoke(priv);
            }
            else
            {
                Unrevoke(priv);
            }
        }
    }

    /// <summary>
    /// Revokes one buffer (spec §5.7): under its reservation lock, mark it revoked (new attaches and maps get
    /// ENODEV) and notify every importer. revoke-2026 also waits for every fence, then — with the lock dropped so
    /// importers can unmap — for every outstanding map. Then CPU mappings are zapped.
    /// </summary>
    private void Revoke(VfioPciDmaBuf priv)
    {
        DmaBuf dmabuf = priv.DmaBuf;
        DmaResv resv = dmabuf.Resv;
        bool locked = resv.Lock() == Errno.None;
        priv.Revoked = true;
        if (Driver.Profile == KernelProfile.Linux619)
        {
            if (locked)
            {
                DmaBufs.DmaBufMoveNotify(dmabuf);
                resv.Unlock();
            }

            // Linux relies on importers unmapping inside move_notify at v6.19 and does not check; the emulator does.
            int kept = dmabuf.MappedTables;
            if (kept != 0)
            {
                DmaBufs.Violate(DmaBufViolationKind.ImporterKeptMapping, "vfio_pci_dma_buf_move", $"{kept} table(s) of {dmabuf} still mapped after move_notify");
            }
        }
        else
        {
            if (locked)
            {
                DmaBufs.DmaBufInvalidateMappings(dmabuf);
                if (resv.WaitTimeout(DmaResvUsage.Bookkeep, false, DmaBufs.LockTimeout) != Errno.None)
                {
                    DmaBufs.Violate(DmaBufViolationKind.FenceTimeout, "vfio_pci_dma_buf_move", $"fences of {dmabuf} still unsignaled after {DmaBufs.LockTimeout.TotalSeconds:0.###} s");
                }

                resv.Unlock();
            }

            if (!priv.WaitForUnmaps(Driver.Options.RevokeUnmapTimeout))
            {
                DmaBufs.Violate(DmaBufViolationKind.UnmapTimeout, "vfio_pci_dma_buf_move", "Timed out waiting for DMABUF unmap, importer has a broken invalidate_mapping()");
            }
        }

        DmaBufs.DmaBufZapCpuMappings(dmabuf);
    }

    /// <summary>Un-revokes one buffer: clears the flag under its reservation lock (v6.19 notifies importers as it does).</summary>
    private void Unrevoke(VfioPciDmaBuf priv)
    {
        DmaBuf dmabuf = priv.DmaBuf;
        DmaResv resv = dmabuf.Resv;
        if (resv.Lock() != Errno.None)
        {
            return;
        }

        if (Driver.Profile == KernelProfile.Linux619)
        {
            priv.Revoked = false;
            DmaBufs.DmaBufMoveNotify(dmabuf);
        }
        else
        {
            DmaBufs.DmaBufInvalidateMappings(dmabuf);
            priv.Revoked = false;
        }

        resv.Unlock();
    }

    /// <summary>
    /// <c>vfio_pci_dma_buf_cleanup</c>, at close: every buffer is revoked for good, leaves the list (its fd stays valid
    /// but dead) and drops its registration reference.
    /// </summary>
    private void CleanupDmaBufs()
    {
        var deferredPuts = new List<OpenFile>();
        _memoryLock.DownWrite();
        try
        {
            if (Driver.Profile != KernelProfile.Linux619)
            {
                // The later cleanup drains through the revoke path, which waits for every unmap.
                MoveLocked(true, deferredPuts);
            }

            foreach (VfioPciDmaBuf priv in DmaBufList)
            {
                if (!priv.DmaBuf.File.TryGetActive())
                {
                    continue;
                }

                deferredPuts.Add(priv.DmaBuf.File);
                if (!priv.Revoked)
                {
                    Revoke(priv);
                }

                lock (_dmabufs)
                {
                    _dmabufs.Remove(priv);
                }

                priv.Detach();
                PutRegistration();
            }
        }
        finally
        {
            _memoryLock.UpWrite();
        }

        PutAll(deferredPuts);
    }

    private static void PutAll(List<OpenFile> files)
    {
        foreach (OpenFile file in files)
        {
            file.Put();
        }
    }
}
