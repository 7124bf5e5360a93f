using System;
using System.Collections.Generic;
using System.Linq;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Drivers.Rdma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Devices.Nic;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Machine.Scenarios;

/// <summary>
/// Storage to network and back to storage, the NVMe-oF target offload flow, side by side with the bounce through host
/// RAM. On the first cabled NIC pair with a drive at each end: the P2P path has the near drive read (O_DIRECT) into the
/// sending NIC's own memory, the NIC RDMA WRITE it across the link, the far NIC land it in the far drive's CMB, and the
/// far drive write it (O_DIRECT) from its CMB; the bounce path does the same through a host buffer at each end. Each
/// path is timed, its fabric copies counted, and the far drive read back and compared with XxHash3.
/// </summary>
public static class OffloadScenario
{
    public const int DefaultBytes = 4 << 20;

    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    /// <param name="timedPasses">Timed passes of each path (see <see cref="PathRun.Timed"/>).</param>
    public static IReadOnlyList<PathReport> Run(Machine machine, int bytes = DefaultBytes, int seed = 5, int timedPasses = PathRun.TimedPasses)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 4096);
        if (bytes % 4096 != 0)
        {
            throw new ArgumentException("The transfer size must be whole 4 KiB pages.", nameof(bytes));
        }

        IReadOnlyDictionary<string, RdmaDev> devices = machine.RdmaDevices;
        foreach (NicLinkInfo link in machine.NicLinks)
        {
            if (!devices.TryGetValue(link.A, out RdmaDev? a) || !devices.TryGetValue(link.B, out RdmaDev? b))
            {
                continue;
            }

            BlockDevice? source = Nearest(machine, a);
            BlockDevice? target = Nearest(machine, b, except: source);
            if (source is null || target is null || (ulong)(2 * bytes) > Math.Min(source.SizeBytes, target.SizeBytes))
            {
                continue;
            }

            Result<RdmaPair> pair = RdmaPair.Connect(a, b, 4096);
            if (!pair.IsSuccess)
            {
                return [new PathReport($"{link.A} -> {link.B}", "-", 0, 0, 0, 0, false, [$"connect: -{pair.Error}"])];
            }

            using RdmaPair connected = pair.Value;
            var flow = new Flow(machine, connected, source, target, (ulong)bytes, new Random(seed), timedPasses);
            return [flow.PeerToPeer(), flow.Bounce()];
        }

        return [];
    }

    /// <summary>The disk whose controller is closest (P2PDMA distance) to <paramref name="nic"/>'s memory, or null.</summary>
    private static BlockDevice? Nearest(Machine machine, RdmaDev nic, BlockDevice? except = null)
    {
        P2pProvider? provider = machine.P2pDma.PcimP2pdmaProvider(nic.Pdev, 2);
        return machine.BlockDevices.Values
            .Where(d => d != except && d.Device.FindParentPciDev() is not null)
            .OrderBy(d => provider is null ? int.MaxValue : Distance(machine, nic.Pdev, d))
            .ThenBy(d => d.Name, StringComparer.Ordinal)
            .FirstOrDefault();
    }

    private static int Distance(Machine machine, PciFunction nic, BlockDevice disk)
    {
        int distance = machine.P2pDma.PciP2pdmaDistance(nic, Device.ForPci(disk.Device.FindParentPciDev()!), verbose: false);
        return distance < 0 ? int.MaxValue : distance;
    }

    private sealed class Flow
    {
        private readonly Machine _machine;
        private readonly RdmaPair _pair;
        private readonly BlockDevice _source;
        private readonly BlockDevice _target;
        private readonly ulong _bytes;
        private readonly Random _random;
        private readonly int _passes;

        public Flow(Machine machine, RdmaPair pair, BlockDevice source, BlockDevice target, ulong bytes, Random random, int passes)
        {
            _passes = passes;
            _machine = machine;
            _pair = pair;
            _source = source;
            _target = target;
            _bytes = bytes;
            _random = random;
        }

        private RdmaPair.RdmaEnd A => _pair.Requester;

        private RdmaPair.RdmaEnd B => _pair.Responder;

        /// <summary>Near drive → sending NIC's memory → the link → far drive's CMB → far drive, at LBA 0.</summary>
        public PathReport PeerToPeer()
        {
            PciFunction? targetController = _target.Device.FindParentPciDev();
            var run = new PathRun(_machine, $"{_source.Name} -> {A.Dev.Pdev.Name} memory -> {B.Dev.Pdev.Name} -> {targetController?.Name} CMB -> {_target.Name} (P2P)", _bytes, _random, _passes);
            P2pMemory? nicMemory = _machine.P2pDma.PciAllocP2pmem(A.Dev.Pdev, _bytes);
            P2pMemory? cmb = targetController is null ? null : _machine.P2pDma.PciAllocP2pmem(targetController, _bytes);
            IbMr? local = null;
            IbMr? remote = null;
            try
            {
                if (nicMemory is null || cmb is null)
                {
                    return run.Failed($"no p2pmem on {(nicMemory is null ? A.Dev.Pdev.Name : targetController?.Name)}");
                }

                string mapType = string.Join(", ",
                    run.MapType(nicMemory.Provider, _source.Device.FindParentPciDev()!),
                    run.MapType(nicMemory.Provider, A.Dev.Pdev),
                    run.MapType(cmb.Provider, B.Dev.Pdev),
                    run.MapType(cmb.Provider, targetController!));
                local = Register(run, A, nicMemory.BusAddress, 0x40_0000_0000);
                remote = Register(run, B, cmb.BusAddress, 0x50_0000_0000);
                byte[] data = run.SeedDisk(_source, 0);
                if (local is null || remote is null || run.Errors.Count > 0)
                {
                    return run.Failed();
                }

                IReadOnlyList<PhysAddress> nicPages = Pages(nicMemory.BusAddress);
                IReadOnlyList<PhysAddress> cmbPages = Pages(cmb.BusAddress);
                return run.Timed(mapType, () =>
                {
                    run.Check(_source.ReadDirect(0, nicPages, 0, _bytes), $"{_source.Name} read into {A.Dev.Pdev.Name} memory");
                    Write(run, local, remote);
                    run.Check(_target.WriteDirect(0, cmbPages, 0, _bytes), $"{_target.Name} write from its CMB");
                }, () => run.DiskHolds(_target, 0, data));
            }
            finally
            {
                // The NICs stop using the memory before it goes back to the pools.
                A.Deregister(local);
                B.Deregister(remote);
                if (nicMemory is not null)
                {
                    _machine.P2pDma.PciFreeP2pmem(A.Dev.Pdev, nicMemory);
                }

                if (cmb is not null)
                {
                    _machine.P2pDma.PciFreeP2pmem(targetController!, cmb);
                }
            }
        }

        /// <summary>Near drive → host RAM → the link → host RAM → far drive, at LBA <c>bytes</c>.</summary>
        public PathReport Bounce()
        {
            var run = new PathRun(_machine, $"{_source.Name} -> host RAM -> {A.Dev.Pdev.Name} -> {B.Dev.Pdev.Name} -> host RAM -> {_target.Name} (bounce)", _bytes, _random, _passes);
            using HostBuffer? near = HostBuffer.Allocate(_machine, _bytes);
            using HostBuffer? far = HostBuffer.Allocate(_machine, _bytes);
            if (near is null || far is null)
            {
                return run.Failed("no host pages for the bounce buffers");
            }

            IbMr? local = Register(run, A, near.Address, 0x60_0000_0000);
            IbMr? remote = Register(run, B, far.Address, 0x70_0000_0000);
            try
            {
                byte[] data = run.SeedDisk(_source, (long)_bytes);
                if (local is null || remote is null || run.Errors.Count > 0)
                {
                    return run.Failed();
                }

                return run.Timed("NONE", () =>
                {
                    run.Check(_source.ReadDirect((long)_bytes, near.Pages, 0, _bytes), $"{_source.Name} read into host RAM");
                    Write(run, local, remote);
                    run.Check(_target.WriteDirect((long)_bytes, far.Pages, 0, _bytes), $"{_target.Name} write from host RAM");
                }, () => run.DiskHolds(_target, (long)_bytes, data));
            }
            finally
            {
                A.Deregister(local);
                B.Deregister(remote);
            }
        }

        private void Write(PathRun run, IbMr local, IbMr remote)
        {
            IbWc? wc = A.Run(new IbSendWr { Opcode = IbWrOpcode.RdmaWrite, SgList = [new IbSge(local.Iova, (uint)_bytes, local.Lkey)], RemoteAddr = remote.Iova, Rkey = remote.Rkey }, s_timeout, out Errno posted);
            if (posted != Errno.None || wc is not { Status: IbWcStatus.Success })
            {
                run.Errors.Add(posted != Errno.None ? $"RDMA WRITE post: -{posted}" : $"RDMA WRITE: {wc?.Status.ToString() ?? "no completion"}");
            }
        }

        private IbMr? Register(PathRun run, RdmaPair.RdmaEnd end, ulong address, ulong iova)
        {
            Result<IbMr> mr = end.RegisterContiguous(address, _bytes, iova);
            if (!mr.IsSuccess)
            {
                run.Errors.Add($"{end.Dev.Name}: register 0x{address:x}: -{mr.Error}");
                return null;
            }

            return mr.Value;
        }

        private List<PhysAddress> Pages(ulong start) =>
            Enumerable.Range(0, (int)(_bytes / HostPageAllocator.PageSize)).Select(i => new PhysAddress(start + ((ulong)i * HostPageAllocator.PageSize))).ToList();
    }
}
