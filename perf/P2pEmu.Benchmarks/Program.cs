using System;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using Perfolizer.Horology;

namespace P2pEmu.Benchmarks;

/// <summary>
/// Entry point: <c>--startup-check</c> runs <see cref="StartupCheck"/>; anything else goes to
/// BenchmarkDotNet. Without a <c>--job</c>/<c>-j</c> argument every benchmark runs the job PERF-NOTES §5
/// recommends (3 warmups, 15 iterations of 100 ms); <c>--job Dry</c> is a CI smoke run.
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        if (Array.IndexOf(args, "--startup-check") >= 0)
        {
            return StartupCheck.Run();
        }

        IConfig config = DefaultConfig.Instance;
        if (!NamesJob(args))
        {
            config = config.AddJob(Job.Default
                .WithWarmupCount(3)
                .WithIterationCount(15)
                .WithIterationTime(TimeInterval.FromMilliseconds(100))
                .AsDefault());
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
        return 0;
    }

    /// <summary>True when the command line chooses the job itself (then it must not be merged with ours).</summary>
    private static bool NamesJob(string[] args)
    {
        foreach (string arg in args)
        {
            if (arg is "--job" or "-j" || arg.StartsWith("--job=", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
