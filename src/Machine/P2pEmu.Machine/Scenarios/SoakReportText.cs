using System;
using System.Globalization;
using System.Text;

namespace P2pEmu.Machine.Scenarios;

/// <summary>The soak report as a person reads it.</summary>
public static class SoakReportText
{
    public static string Render(string topology, SoakReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"soak on {topology}: {report.Rounds} rounds in {report.Seconds:F1} s, {report.Bytes / (double)(1 << 30):F2} GiB delivered, every round checked with XxHash3");
        text.AppendLine();
        foreach (PathReport p in report.Paths)
        {
            text.AppendLine(PathReportText.Format(p));
        }

        text.Append(CultureInfo.InvariantCulture, $"integrity {(report.IntegrityOk ? "ok" : "FAILED")}");
        text.AppendLine();
        return text.ToString();
    }
}
