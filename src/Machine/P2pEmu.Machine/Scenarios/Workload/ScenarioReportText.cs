using System;
using System.Globalization;
using System.Text;

namespace P2pEmu.Machine.Scenarios.Workload;

/// <summary>A scenario's report as a person reads it: the transfers as paths, then the faults as injected.</summary>
public static class ScenarioReportText
{
    public static string Render(ScenarioReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"scenario {report.Name}: {report.Paths.Count} transfers, {report.Faults.Count} faults, every target checked with XxHash3");
        text.AppendLine();
        foreach (PathReport path in report.Paths)
        {
            text.AppendLine(PathReportText.Format(path));
        }

        foreach (FaultReport fault in report.Faults)
        {
            text.Append(CultureInfo.InvariantCulture, $"  fault after chunk {fault.AfterChunk} of {fault.Transfer}: {fault.Action} {fault.Device}: {fault.Result}");
            text.AppendLine();
        }

        text.Append(CultureInfo.InvariantCulture, $"integrity {(report.IntegrityOk ? "ok" : "FAILED")}");
        text.AppendLine();
        return text.ToString();
    }
}
