using System;
using System.Collections.Generic;

namespace P2pEmu.Cli.Trace;

/// <summary>The latency distribution of one kind of completion event, in nanoseconds.</summary>
internal sealed record TraceLatency(string Provider, string Name, long Count, double P50, double P90, double P99, double Max)
{
    public static TraceLatency Of(string provider, string name, List<double> values)
    {
        values.Sort();
        return new TraceLatency(provider, name, values.Count, Percentile(values, 0.50), Percentile(values, 0.90), Percentile(values, 0.99), values[^1]);
    }

    /// <summary>The nearest-rank percentile of sorted <paramref name="sorted"/>.</summary>
    private static double Percentile(List<double> sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
