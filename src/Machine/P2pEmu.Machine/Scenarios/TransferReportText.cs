using System.Globalization;
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
            string outcome = t.Status == "Delivered" ? $"{t.Path} ({t.Reason}{where}{redirect})" : $"{t.Status} ({t.Reason}{where}{redirect})";
            text.Append(CultureInfo.InvariantCulture, $"  {t.Requester,-14} -> {t.Target,-18} {outcome,-64} {t.BytesTransferred,8} B  {(t.IntegrityOk ? "ok" : "INTEGRITY FAILURE: " + t.Mismatch)}");
            text.AppendLine();
        }

        text.Append(CultureInfo.InvariantCulture, $"{report.Delivered} delivered, {report.Transfers.Count - report.Delivered} refused by the fabric, {report.BytesCopied} bytes copied; integrity {(report.IntegrityOk ? "ok" : "FAILED")}");
        text.AppendLine();
        return text.ToString();
    }
}
