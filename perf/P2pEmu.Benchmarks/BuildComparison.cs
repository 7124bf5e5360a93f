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
/// of a second long, in alternating order, see the same machine, so the per-round ratios carry. The whole run is made
/// twice, each build set up first once, and the two orders' medians are combined by their geometric mean.
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
        if (name.Length != 2)
        {
            Console.Error.WriteLine($"compare: --benchmark takes Class.Method, not '{parsed.GetValue(benchmark)}'");
            return ExitUsage;
        }

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

        string[] builds = [.. new[] { parsed.GetValue(baselineBuild)!.FullName, parsed.GetValue(candidateBuild)?.FullName ?? AppContext.BaseDirectory }.Select(Path.TrimEndingDirectorySeparator)];
        string[] dlls = [.. builds.Select(build => Path.Combine(build, "P2pEmu.Benchmarks.dll"))];
        if (dlls.FirstOrDefault(dll => !File.Exists(dll)) is string missing)
        {
            Console.Error.WriteLine($"compare: {missing} does not exist");
            return ExitUsage;
        }

        TimeSpan half = TimeSpan.FromSeconds(parsed.GetValue(seconds) / 2);
        TimeSpan slice = TimeSpan.FromMilliseconds(parsed.GetValue(sliceMs));
        try
        {
            // The build set up first gets memory that copies a few percent slower, so each order gets half the time.
            var phases = new List<List<double[]>>();
            string baselineName = string.Empty;
            foreach (bool candidateFirst in (bool[])[false, true])
            {
                BuildBenchmark[] pair = SetUp(dlls, name[0], name[1], values, candidateFirst);
                try
                {
                    baselineName = pair[0].BaselineName;
                    phases.Add(Measure(pair, half, slice));
                }
                finally
                {
                    Array.ForEach(pair, b => b.Dispose());
                }
            }

            Report(parsed.GetValue(benchmark)!, values, builds, baselineName, phases);
            return 0;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"compare: {e.Message}");
            return ExitUsage;
        }
    }

    /// <summary>Loads and sets up both builds, in build order or the candidate first; returned in build order.</summary>
    private static BuildBenchmark[] SetUp(string[] dlls, string className, string methodName, Dictionary<string, string> values, bool candidateFirst)
    {
        var pair = new BuildBenchmark[2];
        try
        {
            foreach (int i in candidateFirst ? (int[])[1, 0] : [0, 1])
            {
                pair[i] = new BuildBenchmark(new BuildLoadContext(dlls[i]).Assembly, className, methodName, values);
            }

            return pair;
        }
        catch
        {
            Array.ForEach(pair, b => b?.Dispose());
            throw;
        }
    }

    /// <summary>
    /// Rounds of four slices (build 0's method and baseline, build 1's), the builds' order swapped every round; each
    /// entry is nanoseconds per operation: measured 0, baseline 0, measured 1, baseline 1.
    /// </summary>
    private static List<double[]> Measure(BuildBenchmark[] builds, TimeSpan duration, TimeSpan slice)
    {
        foreach (BuildBenchmark b in builds)
        {
            Slice(b.Measured, b.MeasuredOperations, slice);
            Slice(b.Baseline, b.BaselineOperations, slice);
        }

        List<double[]> rounds = [];
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

        return rounds;
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

    private static void Report(string benchmark, Dictionary<string, string> values, string[] builds, string baseline, List<List<double[]>> phases)
    {
        List<double[]> rounds = [.. phases.SelectMany(p => p)];
        string parameters = values.Count == 0 ? string.Empty : $" ({string.Join(", ", values.Select(p => $"{p.Key}={p.Value}"))})";
        Console.WriteLine($"{benchmark}{parameters} beside {baseline}: {rounds.Count} rounds in turns");
        Console.WriteLine($"  baseline build  {builds[0]}");
        Console.WriteLine($"  candidate build {builds[1]}");
        Console.WriteLine(Invariant($"  medians, ns/op: {benchmark} {Median(rounds.Select(r => r[0])):F1} -> {Median(rounds.Select(r => r[2])):F1}; {baseline} {Median(rounds.Select(r => r[1])):F1} -> {Median(rounds.Select(r => r[3])):F1}"));
        var time = new double[phases.Count];
        var beyond = new double[phases.Count];
        for (int p = 0; p < phases.Count; p++)
        {
            double[] ratios = Sorted(phases[p].Select(r => r[0] / r[2]));
            time[p] = Median(ratios);
            beyond[p] = Median(phases[p].Select(r => (r[0] - r[1]) / (r[2] - r[3])));
            Console.WriteLine(Invariant($"  {(p == 0 ? "baseline" : "candidate")} build set up first, {phases[p].Count} rounds: time {time[p]:F3} (quartiles {ratios[ratios.Length / 4]:F3} to {ratios[3 * ratios.Length / 4]:F3}); beyond {baseline} {beyond[p]:F3}; {baseline} {Median(phases[p].Select(r => r[1] / r[3])):F3}; saved {Median(phases[p].Select(r => r[0] - r[2])):F1} ns/op"));
        }

        Console.WriteLine(Invariant($"  both orders, baseline build / candidate build: time {GeometricMean(time):F3}; beyond {baseline} {GeometricMean(beyond):F3}"));
    }

    private static double GeometricMean(double[] values) => Math.Exp(values.Average(Math.Log));

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static double[] Sorted(IEnumerable<double> values) => values.Order().ToArray();

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = Sorted(values);
        return sorted[sorted.Length / 2];
    }
}
