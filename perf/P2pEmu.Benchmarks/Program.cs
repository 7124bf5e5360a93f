using System;
using System.Collections.Generic;
using System.Linq;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Perfolizer.Horology;

namespace P2pEmu.Benchmarks;

/// <summary>
/// Entry point: <c>--startup-check</c> runs <see cref="StartupCheck"/>, <c>--compare</c> runs <see cref="BuildComparison"/>; anything else goes to
/// BenchmarkDotNet. Without a <c>--job</c>/<c>-j</c> argument every benchmark runs the job PERF-NOTES §5
/// recommends (3 warmups, 15 iterations of 100 ms), in-process with <c>--inProcess</c>, and further command-line
/// job options (<c>--iterationCount</c>, ...) apply on top of it; with <c>--job</c> the named job is used
/// instead (<c>--job Dry</c> is the CI smoke run, allowed on a Debug build). The exit code is 1 when any benchmark failed to build or run.
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        if (Array.IndexOf(args, "--startup-check") >= 0)
        {
            return StartupCheck.Run();
        }

        if (Array.IndexOf(args, "--compare") >= 0)
        {
            return BuildComparison.Run(args);
        }

        IConfig config = DefaultConfig.Instance;
        string? job = NamedJob(args);
        if (string.Equals(job, "Dry", StringComparison.OrdinalIgnoreCase))
        {
            // A Dry run measures nothing, so it may run the Debug build `dotnet test` makes (BenchmarkSmokeTests).
            config = config.WithOptions(ConfigOptions.DisableOptimizationsValidator);
        }
        else if (job is null)
        {
            // Marked default so that BenchmarkDotNet's command line (--inProcess, --iterationCount, ...) builds on
            // this job instead of adding a second one beside it.
            config = config.AddJob(Job.Default
                .WithWarmupCount(3)
                .WithIterationCount(15)
                .WithIterationTime(TimeInterval.FromMilliseconds(100))
                .AsDefault());
        }

        IEnumerable<Summary> summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);

        // A CI smoke run must fail when a benchmark does not build or run (e.g. its GlobalSetup throws).
        bool failed = summaries.Any(summary => summary.HasCriticalValidationErrors || summary.Reports.Any(report => !report.Success));
        return failed ? 1 : 0;
    }

    /// <summary>
    /// The job the command line chooses itself (<c>--job NAME</c>, <c>-j NAME</c>, <c>--job=NAME</c>; empty when the
    /// option has no value), or null when it chooses none and ours applies.
    /// </summary>
    private static string? NamedJob(string[] args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] is "--job" or "-j")
            {
                return i + 1 < args.Length ? args[i + 1] : string.Empty;
            }

            if (args[i].StartsWith("--job=", StringComparison.Ordinal))
            {
                return args[i]["--job=".Length..];
            }
        }

        return null;
    }
}
