using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;

namespace P2pEmu.Benchmarks;

/// <summary>
/// <c>--compare</c>: two builds of one benchmark in one process, in short slices taken in turns, each beside its class's
/// baseline (the memcpy of the same work). On a VM whose memory speed drifts by tens of percent from one minute to the
/// next, two BenchmarkDotNet runs made one after the other cannot separate builds a few percent apart; slices a tenth
/// of a second long, in alternating order, see the same machine, so the per-round ratios carry.
/// </summary>
internal static class BuildComparison
{
    private const int ExitUsage = 2;

    public static int Run(string[] args)
    {
        var baselineBuild = new Option<DirectoryInfo>("--baseline") { Description = "the other build's output directory (holding P2pEmu.Benchmarks.dll)", Required = true };
        var candidateBuild = new Option<DirectoryInfo?>("--candidate") { Description = "the build compared with it (default: this one)" };
        var benchmark = new Option<string>("--benchmark") { Description = "the benchmark, as Class.Method", Required = true, HelpName = "CLASS.METHOD" };
        var parameters = new Option<string[]>("--param") { Description = "a [Params] value, as Name=Value (default: the first value of each)", HelpName = "NAME=VALUE" };
        var seconds = new Option<double>("--seconds") { Description = "how long to measure", DefaultValueFactory = _ => 60 };
        var sliceMs = new Option<int>("--slice-ms") { Description = "how long each slice runs one method of one build", DefaultValueFactory = _ => 100 };
        var root = new RootCommand("P2pEmu.Benchmarks --compare: two builds of one benchmark, interleaved in one process")
        {
            new Option<bool>("--compare") { Description = "this mode" }, baselineBuild, candidateBuild, benchmark, parameters, seconds, sliceMs,
        };

        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (string problem in parsed.Errors.Select(e => e.Message).Distinct())
            {
                Console.Error.WriteLine($"compare: {problem}");
            }

            return ExitUsage;
        }

        string[] name = parsed.GetValue(benchmark)!.Split('.');
        Dictionary<string, string> values = [];
        foreach (string pair in parsed.GetValue(parameters) ?? [])
        {
            string[] parts = pair.Split('=', 2);
            if (parts.Length != 2)
            {
                Console.Error.WriteLine($"compare: --param takes Name=Value, not '{pair}'");
                return ExitUsage;
            }

            values[parts[0]] = parts[1];
        }

        if (name.Length != 2)
        {
            Console.Error.WriteLine($"compare: --benchmark takes Class.Method, not '{parsed.GetValue(benchmark)}'");
            return ExitUsage;
        }

        string[] builds = [.. new[] { parsed.GetValue(baselineBuild)!.FullName, parsed.GetValue(candidateBuild)?.FullName ?? AppContext.BaseDirectory }.Select(Path.TrimEndingDirectorySeparator)];
        var loaded = new List<BuildBenchmark>();
        try
        {
            foreach (string build in builds)
            {
                string dll = Path.Combine(build, "P2pEmu.Benchmarks.dll");
                if (!File.Exists(dll))
                {
                    Console.Error.WriteLine($"compare: {dll} does not exist");
                    return ExitUsage;
                }

                loaded.Add(new BuildBenchmark(new BuildLoadContext(dll).Assembly, name[0], name[1], values));
            }

            Measure(loaded, TimeSpan.FromSeconds(parsed.GetValue(seconds)), TimeSpan.FromMilliseconds(parsed.GetValue(sliceMs)), out List<double[]> rounds);
            Report(parsed.GetValue(benchmark)!, values, builds, loaded[0], rounds);
            return 0;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"compare: {e.Message}");
            return ExitUsage;
        }
        finally
        {
            foreach (BuildBenchmark b in loaded)
            {
                b.Dispose();
            }
        }
    }

    /// <summary>
    /// Rounds of four slices (build 0's method and baseline, build 1's), the builds' order swapped every round; each
    /// entry is nanoseconds per operation: measured 0, baseline 0, measured 1, baseline 1.
    /// </summary>
    private static void Measure(List<BuildBenchmark> builds, TimeSpan duration, TimeSpan slice, out List<double[]> rounds)
    {
        foreach (BuildBenchmark b in builds)
        {
            Slice(b.Measured, b.MeasuredOperations, slice);
            Slice(b.Baseline, b.BaselineOperations, slice);
        }

        rounds = [];
        var total = Stopwatch.StartNew();
        while (total.Elapsed < duration || rounds.Count == 0)
        {
            double[] round = new double[4];
            for (int k = 0; k < 2; k++)
            {
                int i = rounds.Count % 2 == 0 ? k : 1 - k;
                round[2 * i] = Slice(builds[i].Measured, builds[i].MeasuredOperations, slice);
                round[(2 * i) + 1] = Slice(builds[i].Baseline, builds[i].BaselineOperations, slice);
            }

            rounds.Add(round);
        }
    }

    private static double Slice(Action method, int operations, TimeSpan length)
    {
        long invocations = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < length)
        {
            method();
            invocations++;
        }

        return clock.Elapsed.TotalNanoseconds / (invocations * (double)operations);
    }

    private static void Report(string benchmark, Dictionary<string, string> values, string[] builds, BuildBenchmark first, List<double[]> rounds)
    {
        double[] time = Sorted(rounds.Select(r => r[0] / r[2]));
        string parameters = values.Count == 0 ? string.Empty : $" ({string.Join(", ", values.Select(p => $"{p.Key}={p.Value}"))})";
        Console.WriteLine($"{benchmark}{parameters} beside {first.BaselineName}: {rounds.Count} rounds in turns");
        Console.WriteLine($"  baseline build  {builds[0]}");
        Console.WriteLine($"  candidate build {builds[1]}");
        Console.WriteLine(Invariant($"  medians, ns/op: {benchmark} {Median(rounds.Select(r => r[0])):F1} -> {Median(rounds.Select(r => r[2])):F1}; {first.BaselineName} {Median(rounds.Select(r => r[1])):F1} -> {Median(rounds.Select(r => r[3])):F1}"));
        Console.WriteLine(Invariant($"  per round, baseline build / candidate build: time {Median(time):F3} (quartiles {time[time.Length / 4]:F3} to {time[3 * time.Length / 4]:F3}); time beyond {first.BaselineName} {Median(rounds.Select(r => (r[0] - r[1]) / (r[2] - r[3]))):F3}; {first.BaselineName} {Median(rounds.Select(r => r[1] / r[3])):F3}"));
        Console.WriteLine(Invariant($"  per round, saved: {Median(rounds.Select(r => r[0] - r[2])):F1} ns/op"));
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static double[] Sorted(IEnumerable<double> values) => values.Order().ToArray();

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = Sorted(values);
        return sorted[sorted.Length / 2];
    }
}
