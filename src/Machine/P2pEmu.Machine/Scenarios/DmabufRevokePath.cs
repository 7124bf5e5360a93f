using System;
using System.Collections.Generic;
using Stopwatch = System.Diagnostics.Stopwatch;
using System.Linq;
using P2pEmu.Dma.Userspace;
using P2pEmu.Drivers.Rdma;
using P2pEmu.Drivers.Vfio;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Machine.Scenarios;

/// <summary>
/// The DMABUF path, revoked mid-run (spec §5): a process exports an accelerator's memory BAR through vfio-pci
/// (<c>VFIO_DEVICE_FEATURE_DMA_BUF</c>), the NIC next to it imports the dma-buf as a dynamic memory region
/// (<c>ib_umem_dmabuf</c>), and the far NIC RDMA WRITEs into it chunk by chunk. Halfway the process closes the vfio
/// device, so the exporter revokes: the importer's mapping is gone, the next WRITE completes with
/// <c>IB_WC_REM_ACCESS_ERR</c>, the QP is in error and nothing more is sent. The path is right when the chunks before
/// the revoke landed intact, the first one after it failed so, and the rest of the memory holds what it held before.
/// </summary>
internal static class DmabufRevokePath
{
    public const int Chunks = 16;

    private const ulong Iova = 0x80_0000_0000;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Runs on the first accelerator bound to vfio-pci, imported by the cabled NIC closest to it (P2PDMA distance), the
    /// NIC at the other end of the cable sending; null when there is no such accelerator or NIC.
    /// </summary>
    public static PathReport? Run(Machine machine, ulong bytes, Random random)
    {
        VfioPciCoreDevice? vdev = machine.Vfio.Devices
            .FirstOrDefault(v => machine.Accelerators.ContainsKey(v.Pdev.Name) && v.Pdev.GetBar(1) is { } bar && bar.SizeBytes >= bytes);
        IReadOnlyDictionary<string, RdmaDev> nics = machine.RdmaDevices;
        var ends =
            from link in machine.NicLinks
            where nics.ContainsKey(link.A) && nics.ContainsKey(link.B)
            from end in new[] { (Sender: nics[link.A], Importer: nics[link.B]), (Sender: nics[link.B], Importer: nics[link.A]) }
            let distance = vdev is null ? -1 : machine.P2pDma.Explain(vdev.Pdev, end.Importer.Pdev).Distance
            where distance >= 0
            orderby distance
            select end;
        if (vdev is null || !ends.Any())
        {
            return null;
        }

        (RdmaDev sender, RdmaDev importer) = ends.First();
        PciBar memory = vdev.Pdev.GetBar(1)!;
        var run = new PathRun(machine, $"{sender.Pdev.Name} -> {importer.Pdev.Name} -> {vdev.Pdev.Name} memory (vfio dma-buf, revoked after chunk {(Chunks / 2) - 1} of {Chunks})", bytes, random);
        Result<RdmaPair> pair = RdmaPair.Connect(sender, importer, 4096);
        if (!pair.IsSuccess)
        {
            return run.Failed($"connect: -{pair.Error}");
        }

        var user = new Process("p2pemu-dmabuf");
        try
        {
            using RdmaPair connected = pair.Value;
            return Transfer(run, connected, vdev, user, memory);
        }
        finally
        {
            user.Exit();
        }
    }

    private static PathReport Transfer(PathRun run, RdmaPair pair, VfioPciCoreDevice vdev, Process user, PciBar memory)
    {
        ulong bytes = run.Bytes;
        Result<int> deviceFd = vdev.Open(user);
        Result<int> fd = deviceFd.IsSuccess ? vdev.IoctlDeviceFeature(user, deviceFd.Value, RdmaScenario.DmaBufFeature(region: 1, bytes)) : deviceFd.Error;
        Result<IbMr> remote = fd.IsSuccess ? pair.Responder.Dev.RegUserMrDmabuf(pair.Responder.Pd, 0, bytes, Iova, user, fd.Value, RdmaPair.AllAccess) : fd.Error;
        using HostBuffer? source = HostBuffer.Allocate(run.Machine, bytes);
        Result<IbMr> local = source is null ? Errno.ENOMEM : pair.Requester.RegisterContiguous(source.Address, bytes, Iova);
        if (remote.IsSuccess)
        {
            pair.Responder.Adopt(remote.Value);
        }

        if (!remote.IsSuccess || !local.IsSuccess)
        {
            return run.Failed($"export, import and register: -{(remote.IsSuccess ? local.Error : remote.Error)}");
        }

        string mapType = run.MapType(vdev.Pdev, pair.Responder.Dev.Pdev);
        byte[] data = run.RandomData();
        data.CopyTo(source!.Writable);
        byte[] before = DeviceMemory(memory, bytes);
        ulong chunk = bytes / Chunks;
        ulong delivered = 0;
        bool refusedAfterRevoke = false;
        long copiedBefore = run.Machine.Fabric.BytesCopied;
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < Chunks; i++)
        {
            if (i == Chunks / 2)
            {
                user.Close(deviceFd.Value);
            }

            ulong at = (ulong)i * chunk;
            var wr = new IbSendWr
            {
                Opcode = IbWrOpcode.RdmaWrite,
                SgList = [new IbSge(local.Value.Iova + at, (uint)chunk, local.Value.Lkey)],
                RemoteAddr = remote.Value.Iova + at,
                Rkey = remote.Value.Rkey,
            };
            IbWc? wc = pair.Requester.Run(wr, s_timeout, out Errno posted);
            if (posted == Errno.None && wc is { Status: IbWcStatus.Success })
            {
                delivered += chunk;
                continue;
            }

            refusedAfterRevoke = i == Chunks / 2 && wc is { Status: IbWcStatus.RemAccessErr };
            run.Errors.Add($"chunk {i}{(i >= Chunks / 2 ? " (after the revoke)" : string.Empty)}: {IbWcText.Of(wc, posted)}");
            if (i + 1 < Chunks)
            {
                run.Errors.Add($"chunks {i + 1}-{Chunks - 1} not sent: the QP is in the error state");
            }

            break;
        }

        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        long copied = run.Machine.Fabric.BytesCopied - copiedBefore;
        if (!refusedAfterRevoke)
        {
            run.Errors.Add($"expected chunk {Chunks / 2}, the first after the revoke, to fail with IB_WC_REM_ACCESS_ERR");
        }

        byte[] after = DeviceMemory(memory, bytes);
        int landed = (int)delivered;
        bool prefixIntact = run.Holds($"{vdev.Pdev.Name} memory before the revoke", after.AsSpan(0, landed), data.AsSpan(0, landed));
        bool restUntouched = run.Holds($"{vdev.Pdev.Name} memory after the revoke", after.AsSpan(landed), before.AsSpan(landed));
        bool ok = refusedAfterRevoke && delivered == (ulong)(Chunks / 2) * chunk && prefixIntact && restUntouched;
        return run.Report(mapType, (long)delivered, seconds, copied, ok);
    }

    /// <summary>
    /// The accelerator's memory as the device holds it: after the close, vfio-pci has disabled memory decoding, so a CPU
    /// read of the BAR would see all ones rather than the memory.
    /// </summary>
    private static byte[] DeviceMemory(PciBar bar, ulong length) => bar.Memory!.GetSpan(0, (int)length).ToArray();
}
