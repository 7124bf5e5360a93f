using System;
using System.Linq;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.Mm;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Machine.Scenarios;

/// <summary>
/// The pgmap path (spec §4.2): a process maps p2pmem through a provider's sysfs <c>allocate</c> file, reads one drive
/// into the mapping with O_DIRECT and writes another from it. GUP pins the mapping's ZONE_DEVICE pages with
/// FOLL_PCI_P2PDMA and the block layer maps them by their P2PDMA map type; no byte passes through host RAM. The
/// provider is one <c>pci_p2pmem_find_many</c> could pick for the two controllers: the closest, and among equals the
/// first in list order, where Linux picks at random, so that the report is the same on every run.
/// </summary>
internal static class PgmapPath
{
    public static PathReport Run(Machine machine, BlockDevice source, BlockDevice target, long position, ulong bytes, Random random, int timedPasses)
    {
        PciFunction sourceController = source.Device.FindParentPciDev()!;
        PciFunction targetController = target.Device.FindParentPciDev()!;
        Device[] clients = [Device.ForPci(sourceController), Device.ForPci(targetController)];
        PciFunction? provider = machine.Fabric.Functions
            .Where(machine.P2pDma.PciHasP2pmem)
            .Select(p => (Provider: p, Distance: machine.P2pDma.PciP2pdmaDistanceMany(p, clients, verbose: false)))
            .Where(p => p.Distance >= 0)
            .OrderBy(p => p.Distance)
            .Select(p => p.Provider)
            .FirstOrDefault();
        var run = new PathRun(machine, $"{source.Name} -> {provider?.Name ?? "no provider"} p2pmem (allocate mmap) -> {target.Name} (pgmap, O_DIRECT)", bytes, random, timedPasses);
        if (provider is null || machine.P2pDma.GetP2pmemSysfs(provider) is not { } sysfs)
        {
            return run.Failed($"pci_p2pmem_find_many: no published p2pmem near {sourceController.Name} and {targetController.Name}");
        }

        using var mm = new MmStruct(machine.Fabric, machine.Pages, "p2pemu-pgmap");
        Result<ulong> buffer = mm.Mmap(0, bytes, Prot.Read | Prot.Write, MapFlags.Shared, sysfs.Allocate);
        if (!buffer.IsSuccess)
        {
            return run.Failed($"mmap of {provider.Name}'s p2pmem/allocate: -{buffer.Error}");
        }

        try
        {
            string mapType = string.Join(", ", run.MapType(provider, sourceController), run.MapType(provider, targetController));
            byte[] data = run.SeedDisk(source, position);
            if (run.Errors.Count > 0)
            {
                return run.Failed();
            }

            return run.Timed(mapType, () =>
            {
                run.Check(source.PreadDirect(mm, buffer.Value, bytes, position), $"{source.Name} O_DIRECT read into the mapping");
                run.Check(target.PwriteDirect(mm, buffer.Value, bytes, position), $"{target.Name} O_DIRECT write from the mapping");
            }, () => run.DiskHolds(target, position, data));
        }
        finally
        {
            mm.Munmap(buffer.Value, bytes);
        }
    }
}
