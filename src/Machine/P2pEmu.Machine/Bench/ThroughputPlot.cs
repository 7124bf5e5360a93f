using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace P2pEmu.Machine.Bench;

/// <summary>
/// The macro run's throughput against transfer size as an SVG line chart: one line per path and a dashed one for the
/// same-run memcpy, sizes on a log-2 axis, GB/s on a log-10 one (memcpy from the caches is an order of magnitude above
/// the paths).
/// </summary>
public static class ThroughputPlot
{
    private const int Width = 760;
    private const int Height = 420;
    private const int Left = 60;
    private const int Right = 250;
    private const int Top = 30;
    private const int Bottom = 50;

    private static readonly string[] s_colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

    /// <exception cref="ArgumentException">The report has no throughput rows.</exception>
    public static string Render(BenchReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (report.Throughput.Count == 0)
        {
            throw new ArgumentException("The report has no throughput rows to plot.", nameof(report));
        }

        List<long> sizes = [.. report.Throughput.Select(t => t.Bytes).Distinct().Order()];
        double maxDecade = Math.Ceiling(Math.Log10(report.Throughput.Max(t => Math.Max(t.Gbps, t.MemcpyGbps))));
        double minDecade = Math.Floor(Math.Log10(Math.Max(1e-3, report.Throughput.Min(t => Math.Min(t.Gbps, t.MemcpyGbps)))));
        minDecade = Math.Min(minDecade, maxDecade - 1);
        double minLog = Math.Log2(sizes[0]);
        double maxLog = Math.Max(minLog + 1, Math.Log2(sizes[^1]));
        double X(long bytes) => Left + ((Math.Log2(bytes) - minLog) / (maxLog - minLog) * (Width - Left - Right));
        double Y(double gbps) => Height - Bottom - ((Math.Log10(Math.Max(gbps, 1e-3)) - minDecade) / (maxDecade - minDecade) * (Height - Top - Bottom));
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"18\" font-size=\"14\">p2pemu bench: throughput against transfer size ({report.Machine.Processors} CPUs, {report.Machine.Configuration})</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{Height - Bottom}\" x2=\"{Width - Right}\" y2=\"{Height - Bottom}\" stroke=\"black\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Height - Bottom}\" stroke=\"black\"/>\n");
        foreach (long size in sizes)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{X(size):F1}\" y=\"{Height - Bottom + 18}\" text-anchor=\"middle\">{Label(size)}</text>\n");
        }

        for (double decade = minDecade; decade <= maxDecade; decade++)
        {
            double gbps = Math.Pow(10, decade);
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 6}\" y=\"{Y(gbps) + 4:F1}\" text-anchor=\"end\">{gbps:G3}</text>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{Y(gbps):F1}\" x2=\"{Width - Right}\" y2=\"{Y(gbps):F1}\" stroke=\"#ddd\"/>\n");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{(Left + Width - Right) / 2}\" y=\"{Height - 12}\" text-anchor=\"middle\">transfer size</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"16\" y=\"{(Top + Height - Bottom) / 2}\" transform=\"rotate(-90 16 {(Top + Height - Bottom) / 2})\" text-anchor=\"middle\">GB/s (log)</text>\n");
        var lines = report.Throughput.GroupBy(t => t.Path).Select(g => (Name: g.Key, Points: g.OrderBy(t => t.Bytes).Select(t => (t.Bytes, t.Gbps)).ToList())).ToList();
        lines.Add(("memcpy (same run)", [.. report.Throughput.GroupBy(t => t.Bytes).OrderBy(g => g.Key).Select(g => (g.Key, g.First().MemcpyGbps))]));
        for (int i = 0; i < lines.Count; i++)
        {
            bool memcpy = i == lines.Count - 1;
            string color = memcpy ? "#555" : s_colors[i % s_colors.Length];
            string points = string.Join(" ", lines[i].Points.Select(p => string.Create(CultureInfo.InvariantCulture, $"{X(p.Item1):F1},{Y(p.Item2):F1}")));
            svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{(memcpy ? " stroke-dasharray=\"6,4\"" : string.Empty)} points=\"{points}\"/>\n");
            double legendY = Top + 10 + (i * 34);
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Width - Right + 12}\" y1=\"{legendY:F1}\" x2=\"{Width - Right + 32}\" y2=\"{legendY:F1}\" stroke=\"{color}\" stroke-width=\"2\"{(memcpy ? " stroke-dasharray=\"6,4\"" : string.Empty)}/>\n");
            foreach ((string text, int line) in Wrap(lines[i].Name, 30).Select((t, n) => (t, n)))
            {
                svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Width - Right + 38}\" y=\"{legendY + 4 + (line * 13):F1}\" font-size=\"11\">{System.Security.SecurityElement.Escape(text)}</text>\n");
            }
        }

        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static string Label(long bytes) => bytes >= 1 << 20 ? $"{bytes >> 20} MiB" : $"{bytes >> 10} KiB";

    private static IEnumerable<string> Wrap(string text, int width)
    {
        var line = new StringBuilder();
        foreach (string word in text.Split(' '))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width)
            {
                yield return line.ToString();
                line.Clear();
            }

            line.Append(line.Length > 0 ? " " : string.Empty).Append(word);
        }

        if (line.Length > 0)
        {
            yield return line.ToString();
        }
    }
}
