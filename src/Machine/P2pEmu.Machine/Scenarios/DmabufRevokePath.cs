using System.Collections.Generic;
using System.Linq;
using P2pEmu.Drivers.Rdma;
using P2pEmu.Drivers.Vfio;
using P2pEmu.Emulator.Host;
using P2pEmu.Machine.Scenarios.Workload;

namespace P2pEmu.Machine.Scenarios;

/// <summary>
/// The DMABUF path, revoked mid-run (spec §5): a process exports an accelerator's memory BAR through vfio-pci
/// (<c>VFIO_DEVICE_FEATURE_DMA_BUF</c>), the NIC next to it imports the dma-buf as a dynamic memory region
/// (<c>ib_umem_dmabuf</c>), and the far NIC RDMA WRITEs into it chunk by chunk. Halfway the process closes the vfio
/// device, so the exporter revokes: the importer's mapping is gone, the next WRITE completes with
/// <c>IB_WC_REM_ACCESS_ERR</c>, the QP is in error and nothing more is sent. The path is right when the chunks before
/// the revoke landed intact, the first one after it failed so, and the rest of the memory holds what it held before:
/// the scenario runner's <c>dmabuf</c> transfer with a <c>revoke-dmabuf</c> after chunk 7 of 16.
/// </summary>
internal static class DmabufRevokePath
{
    public const int Chunks = 16;

    /// <summary>
    /// Runs on the first accelerator bound to vfio-pci, imported by the cabled NIC closest to it (P2PDMA distance), the
    /// NIC at the other end of the cable sending; null when there is no such accelerator or NIC.
    /// </summary>
    public static PathReport? Run(Machine machine, ulong bytes, int seed)
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
        var spec = new WorkloadTransfer("dmabuf", TransferKind.Dmabuf, sender.Pdev.Name, vdev.Pdev.Name, bytes, bytes / Chunks, 1, 0, "$");
        using var transfer = new DmabufTransfer(machine, spec, seed);
        transfer.Setup();
        transfer.Run(0, Chunks / 2);
        Errno revoked = transfer.Revoke();
        transfer.MustFailFrom = Chunks / 2;
        transfer.Run(Chunks / 2, Chunks);
        PathReport report = transfer.Report();
        string expected = $"chunk {Chunks / 2}: IB_WC_REM_ACCESS_ERR";
        bool stopped = revoked == Errno.None && report.Bytes == (long)(bytes / 2) && report.Errors.Count > 0 && report.Errors[0] == expected;
        return report with
        {
            Name = $"{sender.Pdev.Name} -> {importer.Pdev.Name} -> {vdev.Pdev.Name} memory (vfio dma-buf, revoked after chunk {(Chunks / 2) - 1} of {Chunks})",
            ChecksumOk = report.ChecksumOk && stopped,
            Errors = stopped ? report.Errors : [.. report.Errors, $"expected the revoke (-{revoked}) to stop the path at the next chunk: {expected}"],
        };
    }
}
