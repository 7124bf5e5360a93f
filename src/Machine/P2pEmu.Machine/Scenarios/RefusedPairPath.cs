using System;
using System.Linq;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.Mm;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Machine.Reports;

namespace P2pEmu.Machine.Scenarios;

/// <summary>
/// A pair the kernel refuses: a drive and a published p2pmem provider whose map type is NOT_SUPPORTED — preferably
/// because ACS redirects their traffic to a host bridge the allow list does not name. A process maps the provider's
/// p2pmem through its <c>allocate</c> file and reads the drive into it with O_DIRECT; the read must fail and leave the
/// memory as it was. The report carries the kernel's explanation of the verdict.
/// </summary>
internal static class RefusedPairPath
{
    /// <summary>Null when every drive reaches every provider.</summary>
    public static PathReport? Run(Machine machine, ulong bytes, Random random)
    {
        P2pDmaHost host = machine.P2pDma;
        var candidates =
            from d in machine.BlockDevices.Values.OrderBy(d => d.Name, StringComparer.Ordinal)
            let controller = d.Device.FindParentPciDev()
            where controller is not null && d.SizeBytes >= bytes
            from p in machine.Fabric.Functions.Where(host.PciHasP2pmem)
            let v = host.Explain(p, controller)
            where v.MapType == PciP2pdmaMapType.NotSupported && host.GetP2pmemSysfs(p)?.Available >= bytes
            orderby v.RedirectingDevices.Count > 0 && v.CommonUpstream is not null descending
            select (d, p, v);
        (BlockDevice disk, PciFunction provider, P2pVerdict verdict) = candidates.FirstOrDefault();
        if (disk is null)
        {
            return null;
        }

        var run = new PathRun(machine, $"{disk.Name} -> {provider.Name} p2pmem (allocate mmap, O_DIRECT; refused)", bytes, random);
        string explanation = P2pReportText.Explain(host, verdict);
        using var mm = new MmStruct(machine.Fabric, machine.Pages, "p2pemu-refused");
        Result<ulong> buffer = mm.Mmap(0, bytes, Prot.Read | Prot.Write, MapFlags.Shared, host.GetP2pmemSysfs(provider)!.Allocate);
        if (!buffer.IsSuccess)
        {
            return run.Failed($"mmap of {provider.Name}'s p2pmem/allocate: -{buffer.Error}");
        }

        try
        {
            byte[] before = new byte[bytes];
            byte[] after = new byte[bytes];
            Errno readBefore = mm.ReadUser(buffer.Value, before);
            Result<long> read = disk.PreadDirect(mm, buffer.Value, bytes, 0);
            Errno readAfter = mm.ReadUser(buffer.Value, after);
            bool refused = !read.IsSuccess;
            if (refused)
            {
                run.Errors.Add($"{disk.Name} O_DIRECT read into {provider.Name} p2pmem: -{read.Error} (the kernel refuses NOT_SUPPORTED)");
            }
            else
            {
                run.Errors.Add($"{disk.Name} O_DIRECT read into {provider.Name} p2pmem returned {read.Value} bytes: the kernel must refuse NOT_SUPPORTED");
            }

            bool untouched = readBefore == Errno.None && readAfter == Errno.None && run.Holds($"{provider.Name} p2pmem", after, before);
            return run.Report(P2pMatrix.MapTypeName(verdict.MapType), 0, 0, 0, refused && untouched, explanation);
        }
        finally
        {
            mm.Munmap(buffer.Value, bytes);
        }
    }
}
