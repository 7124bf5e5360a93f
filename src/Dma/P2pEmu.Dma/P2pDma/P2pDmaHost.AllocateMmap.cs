using P2pEmu.Dma.Mm;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Dma.P2pDma;

/// <content>The mmap operation of the sysfs <c>allocate</c> file (spec §4.4).</content>
public sealed partial class P2pDmaHost
{
    /// <summary>
    /// Linux <c>p2pmem_alloc_mmap</c>, in its order: a mapping that is not MAP_SHARED (no VM_MAYSHARE) or has a
    /// non-zero offset fails with EINVAL and an info line; no P2PDMA state (or no pool) gives ENODEV; the VMA's
    /// length is allocated from the pool (ENOMEM when no run is free); a live reference on the chunk's page map is
    /// taken (ENODEV, memory given back, when the map is dying); then each page is inserted with a reference
    /// count of 1 and takes one page-map reference; the initial reference is dropped. Each page goes back to the
    /// pool on its own when its last reference goes (<see cref="P2pPagemap.FolioFree"/>).
    /// </summary>
    internal Errno P2pmemAllocMmap(PciFunction pdev, VmAreaStruct vma)
    {
        if ((vma.Flags & VmFlags.MayShare) == 0)
        {
            Warn(pdev, $"{vma.Mm.Comm}: fail, attempted private mapping");
            return Errno.EINVAL;
        }

        if (vma.PgOff != 0)
        {
            Warn(pdev, $"{vma.Mm.Comm}: fail, attempted mapping with non-zero offset");
            return Errno.EINVAL;
        }

        P2pMemPool? pool = GetP2pdma(pdev)?.Pool;
        if (pool is null)
        {
            return Errno.ENODEV;
        }

        ulong length = vma.LengthBytes;
        if (!pool.TryAllocRun(length, out ulong busAddress, out P2pPagemap? pgmap))
        {
            return Errno.ENOMEM;
        }

        if (!pgmap!.TryGetLive())
        {
            pool.FreeRun(busAddress, length);
            return Errno.ENODEV;
        }

        ulong physAddress = unchecked(busAddress - pgmap.Provider.BusOffset);
        for (ulong done = 0; done < length; done += Page.PageSize)
        {
            var page = new Page(new PhysAddress(physAddress + done), pgmap);
            page.SetRefCount(1);
            Errno error = vma.VmInsertPage(vma.Start + done, page);
            if (error != Errno.None)
            {
                // The pages already inserted are freed one by one when the failed mapping is zapped.
                pool.FreeRun(busAddress + done, length - done);
                page.SetRefCount(0);
                pgmap.Put();
                return error;
            }

            pgmap.Get();
            page.Put();
        }

        pgmap.Put();
        return Errno.None;
    }
}
