using System.Globalization;
using System.Linq;
using System.Text;

namespace P2pEmu.Machine.Scenarios;

/// <summary>The transfer report as a table a person reads.</summary>
public static class TransferReportText
{
    public static string Render(TransferReport report)
    {
        System.ArgumentNullException.ThrowIfNull(report);
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"transfer scenario on {report.Topology}: {report.Transfers.Count} writes of up to {report.BytesPerTransfer} bytes, each checked with XxHash3");
        text.AppendLine();
        foreach (TransferCheck t in report.Transfers)
        {
            string where = t.DecidedAt is null ? string.Empty : $" at {t.DecidedAt}";
            string redirect = t.RedirectedAt is null ? string.Empty : $", redirected by {t.RedirectedAt}";
            string outcome = t.Status switch
            {
                "Delivered" => $"{t.Path} ({t.Reason}{where}{redirect})",
                "KernelRefused" => "refused by the kernel: the device is not given an address",
                "MappingFailed" => "dma_map_phys failed",
                _ => $"{t.Status} ({t.Reason}{where}{redirect})",
            };
            string address = t.Address == 0 ? "-" : $"0x{t.Address:x}";
            text.Append(CultureInfo.InvariantCulture, $"  {t.Requester,-14} -> {t.Target,-18} {t.MapType,-16} {address,-14} {outcome,-62} {t.BytesTransferred,8} B  {(t.IntegrityOk ? "ok" : "INTEGRITY FAILURE: " + t.Mismatch)}");
            text.AppendLine();
        }

        int refusedByKernel = report.Transfers.Count(t => t.Status is "KernelRefused" or "MappingFailed");
        text.Append(CultureInfo.InvariantCulture, $"{report.Delivered} delivered, {refusedByKernel} refused by the kernel, {report.Transfers.Count - report.Delivered - refusedByKernel} refused by the fabric, {report.BytesCopied} bytes copied");
        text.AppendLine();
        if (report.Storage.Count > 0)
        {
            text.AppendLine("storage scenario: O_DIRECT through the NVMe driver, reads checked with XxHash3 (p2pmem through MMIO reads)");
            foreach (StorageCheck s in report.Storage)
            {
                string verdict = !s.IntegrityOk ? "INTEGRITY FAILURE: " + s.Mismatch : s.Expected ? "ok" : "UNEXPECTED";
                text.Append(CultureInfo.InvariantCulture, $"  {s.Disk,-10} {s.Operation,-5} {s.Buffer,-22} {s.MapType,-16} {s.Result,-8} {s.BytesTransferred,8} B  {verdict}");
                text.AppendLine();
            }
        }

        if (report.Rdma.Count > 0)
        {
            text.AppendLine("rdma scenario: RoCEv2 between cabled NICs through the RDMA driver, landings checked with XxHash3");
            foreach (RdmaCheck r in report.Rdma)
            {
                text.AppendLine(RdmaScenario.Format(r));
            }
        }

        if (report.Paths.Count > 0)
        {
            text.AppendLine("paths: storage to network to storage by P2P and through host RAM, the pgmap path, the DMABUF path revoked mid-run, a refused pair");
            foreach (PathReport p in report.Paths)
            {
                text.AppendLine(PathReportText.Format(p));
            }
        }

        text.Append(CultureInfo.InvariantCulture, $"integrity {(report.IntegrityOk ? "ok" : "FAILED")}");
        text.AppendLine();
        return text.ToString();
    }
}
