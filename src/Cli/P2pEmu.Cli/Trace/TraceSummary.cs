using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.Diagnostics.Tracing;

namespace P2pEmu.Cli.Trace;

/// <summary>
/// What a <c>.nettrace</c> of the emulator holds, read back with TraceEvent: events per provider and name, bytes per
/// fabric path (<c>P2pEmu.Fabric/Transfer</c>), and latency percentiles of every event that carries a
/// <c>latencyNanoseconds</c> payload (command and work completions).
/// </summary>
internal sealed record TraceSummary(
    long Events,
    IReadOnlyList<TraceEventCount> EventsByKind,
    IReadOnlyDictionary<string, long> BytesByPath,
    IReadOnlyList<TraceLatency> Latencies)
{
    public const string LatencyPayload = "latencyNanoseconds";

    /// <summary>Reads <paramref name="path"/> (a <c>.nettrace</c> file) and sums up the emulator's events in it.</summary>
    public static TraceSummary Read(string path)
    {
        var counts = new Dictionary<(string Provider, string Name), long>();
        var bytes = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var latencies = new Dictionary<(string Provider, string Name), List<double>>();
        long events = 0;
        using (var source = new EventPipeEventSource(path))
        {
            source.Dynamic.All += e =>
            {
                if (!e.ProviderName.StartsWith("P2pEmu.", StringComparison.Ordinal))
                {
                    return;
                }

                events++;
                (string, string) kind = (e.ProviderName, e.EventName);
                counts[kind] = counts.GetValueOrDefault(kind) + 1;
                if (e.ProviderName == "P2pEmu.Fabric" && e.EventName == "Transfer")
                {
                    string route = PathName(Convert.ToInt64(e.PayloadByName("path"), System.Globalization.CultureInfo.InvariantCulture));
                    bytes[route] = bytes.GetValueOrDefault(route) + Convert.ToInt64(e.PayloadByName("bytes"), System.Globalization.CultureInfo.InvariantCulture);
                }

                if (e.PayloadIndex(LatencyPayload) >= 0)
                {
                    if (!latencies.TryGetValue(kind, out List<double>? values))
                    {
                        latencies[kind] = values = new List<double>();
                    }

                    values.Add(Convert.ToDouble(e.PayloadByName(LatencyPayload), System.Globalization.CultureInfo.InvariantCulture));
                }
            };
            source.Process();
        }

        return new TraceSummary(
            events,
            counts.OrderBy(c => c.Key.Provider, StringComparer.Ordinal).ThenBy(c => c.Key.Name, StringComparer.Ordinal)
                .Select(c => new TraceEventCount(c.Key.Provider, c.Key.Name, c.Value)).ToList(),
            bytes,
            latencies.OrderBy(l => l.Key.Provider, StringComparer.Ordinal).ThenBy(l => l.Key.Name, StringComparer.Ordinal)
                .Select(l => TraceLatency.Of(l.Key.Provider, l.Key.Name, l.Value)).ToList());
    }

    /// <summary>The <c>RoutePath</c> by name; a number the enum does not define stays a number.</summary>
    private static string PathName(long path) => path is >= byte.MinValue and <= byte.MaxValue
        ? ((Emulator.Fabric.RoutePath)(byte)path).ToString()
        : path.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
