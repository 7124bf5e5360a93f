using System.Globalization;
using System.Text;

namespace P2pEmu.Cli.Trace;

/// <summary>The trace summary as a person reads it.</summary>
internal static class TraceSummaryText
{
    public static string Render(string file, long fileBytes, TraceSummary summary)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"trace {file}: {fileBytes} bytes, {summary.Events} emulator events");
        text.AppendLine();
        text.AppendLine("events:");
        foreach (TraceEventCount kind in summary.EventsByKind)
        {
            text.Append(CultureInfo.InvariantCulture, $"  {kind.Provider + "/" + kind.Name,-40} {kind.Count,12}");
            text.AppendLine();
        }

        text.AppendLine("bytes per fabric path:");
        foreach ((string path, long bytes) in summary.BytesByPath)
        {
            text.Append(CultureInfo.InvariantCulture, $"  {path,-40} {bytes,16}");
            text.AppendLine();
        }

        if (summary.Latencies.Count > 0)
        {
            text.AppendLine("latency (ns):                                  count          p50          p90          p99          max");
            foreach (TraceLatency l in summary.Latencies)
            {
                text.Append(CultureInfo.InvariantCulture, $"  {l.Provider + "/" + l.Name,-40} {l.Count,10} {l.P50,12:F0} {l.P90,12:F0} {l.P99,12:F0} {l.Max,12:F0}");
                text.AppendLine();
            }
        }

        return text.ToString();
    }
}
