using System;
using System.Collections.Generic;
using System.Linq;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.P2pDma;

namespace P2pEmu.Machine.Scenarios;

/// <summary>
/// The end-to-end paths of the default run, side by side on one machine: the NVMe-oF target offload flow by P2P and
/// through host RAM (<see cref="OffloadScenario"/>), the pgmap path (p2pmem <c>allocate</c> + O_DIRECT), the DMABUF path
/// revoked mid-run, and a pair the kernel refuses, with its explanation. Paths the machine has no devices for are left
/// out.
/// </summary>
public static class PathScenario
{
    public const int DefaultBytes = OffloadScenario.DefaultBytes;

    /// <summary>The paths <see cref="Run"/> runs at most.</summary>
    public const int MaxPaths = 5;

    /// <param name="progress">Told of every path as it finishes.</param>
    /// <param name="timedPasses">Timed passes of each repeatable path (see <see cref="PathRun.Timed"/>).</param>
    public static IReadOnlyList<PathReport> Run(Machine machine, int bytes = DefaultBytes, int seed = 5, IProgress<PathReport>? progress = null, int timedPasses = PathRun.TimedPasses)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentOutOfRangeException.ThrowIfLessThan(timedPasses, 1);
        var random = new Random(seed);
        var paths = new List<PathReport>();
        void Add(PathReport? path)
        {
            if (path is not null)
            {
                paths.Add(path);
                progress?.Report(path);
            }
        }

        foreach (PathReport offload in OffloadScenario.Run(machine, bytes, seed, timedPasses))
        {
            Add(offload);
        }

        if (DrivePairSharingP2pmem(machine, 3 * (ulong)bytes) is (BlockDevice source, BlockDevice target))
        {
            Add(PgmapPath.Run(machine, source, target, 2L * bytes, (ulong)bytes, random, timedPasses));
        }

        Add(DmabufRevokePath.Run(machine, (ulong)bytes, seed));
        Add(RefusedPairPath.Run(machine, (ulong)bytes, random));
        return paths;
    }

    /// <summary>The first two drives, in name order, for whose controllers <c>pci_p2pmem_find_many</c> finds a provider.</summary>
    private static (BlockDevice, BlockDevice)? DrivePairSharingP2pmem(Machine machine, ulong bytes)
    {
        List<BlockDevice> disks = machine.BlockDevices.Values
            .Where(d => d.SizeBytes >= bytes && d.Device.FindParentPciDev() is not null)
            .OrderBy(d => d.Name, StringComparer.Ordinal)
            .ToList();
        foreach (BlockDevice source in disks)
        {
            foreach (BlockDevice target in disks.Where(d => d != source))
            {
                Device[] clients = [Device.ForPci(source.Device.FindParentPciDev()!), Device.ForPci(target.Device.FindParentPciDev()!)];
                if (machine.P2pDma.PciP2pmemFindMany(clients) is not null)
                {
                    return (source, target);
                }
            }
        }

        return null;
    }
}
