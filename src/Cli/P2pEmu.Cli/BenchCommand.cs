using System;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using P2pEmu.Emulator.Topology.Json;
using P2pEmu.Machine.Bench;

namespace P2pEmu.Cli;

/// <summary><c>p2pemu bench</c>: the macro harness — throughput per path and size, IOPS per queue depth, each against a same-run memcpy.</summary>
internal sealed class BenchCommand
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private readonly Argument<string?> _topology = Commands.NoOptionLikeValues(new Argument<string?>("TOPOLOGY")
    {
        Description = "a topology file, an lspci -xxxx dump or a built-in topology name (default: the built-in default)",
        Arity = ArgumentArity.ZeroOrOne,
    });

    private readonly Option<int[]> _sizes = new("--sizes")
    {
        Description = "transfer sizes for the throughput runs, comma-separated (default: 64KiB,1MiB,4MiB)",
        HelpName = "SIZE,...",
        CustomParser = Sizes,
    };

    private readonly Option<int[]> _depths = new("--depths")
    {
        Description = "queue depths for the IOPS runs, comma-separated (default: 1,4,16,64)",
        HelpName = "N,...",
        CustomParser = Depths,
    };

    private readonly Option<bool> _json = new("--json") { Description = "print the figures as one JSON object" };
    private readonly Option<FileInfo?> _plot = new("--plot") { Description = "also write throughput against size per path as an SVG chart", HelpName = "FILE" };

    public BenchCommand() =>
        Command = new Command("bench", "macro throughput per path and IOPS per queue depth, each as a ratio to a same-run memcpy (build with -c Release for figures)")
        {
            _topology, _sizes, _depths, _json, _plot,
        };

    public Command Command { get; }

    public int Invoke(ParseResult parse, CommandContext context)
    {
        bool json = parse.GetValue(_json);
        int[] sizes = parse.GetValue(_sizes) is { Length: > 0 } s ? s : [.. MacroBench.DefaultSizes];
        int[] depths = parse.GetValue(_depths) is { Length: > 0 } d ? d : [.. MacroBench.DefaultDepths];
        string topology = parse.GetValue(_topology) ?? Commands.DefaultTopology;
        BenchReport report = RunStages.Show(json ? null : context.ProgressConsole, stages => MacroBench.Run(topology, sizes, depths, new StageProgress(stages)));
        context.Output.Write(json ? JsonSerializer.Serialize(report, s_json) + Environment.NewLine : Render(report));
        if (parse.GetValue(_plot) is { } plot && report.Throughput.Count > 0)
        {
            File.WriteAllText(plot.FullName, ThroughputPlot.Render(report));
        }

        return Commands.ExitOk;
    }

    private static string Render(BenchReport report)
    {
        var text = new StringBuilder();
        BenchMachine m = report.Machine;
        text.Append(CultureInfo.InvariantCulture, $"bench on {report.Topology}: {m.Processors} processors, {m.Os}, {m.Runtime}, {m.Configuration} build");
        text.AppendLine();
        text.AppendLine("throughput                                                                     bytes      GB/s  memcpy GB/s   ratio  copies/byte");
        foreach (BenchThroughput t in report.Throughput)
        {
            text.Append(CultureInfo.InvariantCulture, $"  {t.Path,-70} {t.Bytes,10} {t.Gbps,9:F2} {t.MemcpyGbps,12:F2} {t.Ratio,7:F3} {t.CopiesPerByte,12:F2}");
            text.AppendLine();
        }

        text.AppendLine("4 KiB random reads           QD          IOPS  memcpy 4 KiB/s    ratio");
        foreach (BenchIops i in report.Iops)
        {
            text.Append(CultureInfo.InvariantCulture, $"  {i.Disk,-24} {i.QueueDepth,5} {i.Iops,13:F0} {i.MemcpyCopiesPerSecond,15:F0} {i.Ratio,8:F4}");
            text.AppendLine();
        }

        return text.ToString();
    }

    private static int[] Sizes(ArgumentResult result)
    {
        var sizes = new System.Collections.Generic.List<int>();
        foreach (string text in Commands.CommaSeparated(result))
        {
            if (!SizeText.TryParse(text, out ulong bytes, out string? problem) || bytes % 4096 != 0 || bytes > 1 << 30)
            {
                result.AddError($"--sizes: '{text}' is not a size of whole 4 KiB pages up to 1 GiB{(problem is null ? string.Empty : $" ({problem})")}");
                return [];
            }

            sizes.Add((int)bytes);
        }

        return [.. sizes];
    }

    private static int[] Depths(ArgumentResult result)
    {
        var depths = Commands.CommaSeparated(result).Select(t => int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out int d) ? d : 0).ToArray();
        if (depths.Any(d => d is < 1 or > 256))
        {
            result.AddError("--depths takes queue depths of 1 to 256");
            return [];
        }

        return depths;
    }
}
