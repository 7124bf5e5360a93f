using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Integration.Tests;

/// <summary>
/// The performance suite's CI smoke run: every BenchmarkDotNet benchmark in perf/ builds and runs once (the Dry job),
/// each setup with its own checks that the topology routes the way the benchmark claims.
/// </summary>
public sealed partial class BenchmarkSmokeTests
{
    [Fact]
    public void DryJob_RunsEveryBenchmarkOfEveryClass_AndExitsZero()
    {
        string artifacts = Directory.CreateTempSubdirectory("p2pemu-bdn-").FullName;
        try
        {
            (int exit, string output) = RunBenchmarks("--filter", "*", "--job", "Dry", "--inProcess", "--artifacts", artifacts);

            Assert.True(exit == 0, $"the Dry run exited {exit}:\n{Tail(output)}");
            int found = int.Parse(FoundTotal().Match(output).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            int executed = int.Parse(ExecutedTotal().Match(output).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(found > 0, "no benchmark found");
            Assert.Equal(found, executed);

            string[] declared = Directory.GetFiles(Path.Combine(RepositoryPaths.Root, "perf", "P2pEmu.Benchmarks"), "*.cs")
                .SelectMany(file => DeclaredClass().Matches(File.ReadAllText(file)).Select(match => match.Groups[1].Value))
                .Order(StringComparer.Ordinal)
                .ToArray();
            string[] ran = RanClass().Matches(output).Select(match => match.Groups[1].Value).Distinct().Order(StringComparer.Ordinal).ToArray();
            Assert.NotEmpty(declared);
            Assert.Equal(declared, ran);
        }
        finally
        {
            Directory.Delete(artifacts, recursive: true);
        }
    }

    [Fact]
    public void Compare_ABuildWithItself_MeasuresRoundsOfTheBenchmarkBesideItsCategorysBaseline()
    {
        (int exit, string output) = RunBenchmarks("--compare", "--baseline", BenchmarksDirectory(), "--benchmark", "ChecksumBenchmarks.Crc32Of", "--param", "Bytes=4096", "--seconds", "0.5", "--slice-ms", "10");

        Assert.True(exit == 0, $"the comparison exited {exit}:\n{Tail(output)}");
        Match summary = CompareSummary().Match(output);
        Assert.True(summary.Success, Tail(output));
        Assert.Equal("ChecksumBenchmarks.Crc32Of (Bytes=4096)", summary.Groups[1].Value);
        Assert.Equal("Memcpy", summary.Groups[2].Value);
        Assert.True(int.Parse(summary.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Contains("baseline build set up first", output, StringComparison.Ordinal);
        Assert.Contains("candidate build set up first", output, StringComparison.Ordinal);
        double ratio = double.Parse(CompareTimeRatio().Match(output).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(ratio, 0.25, 4); // the same build both sides: near 1 even on a loaded machine
    }

    [Theory]
    [InlineData("ChecksumBenchmarks.Nope", "has no benchmark Nope")]
    [InlineData("NoSuchBenchmarks.Memcpy", "has no benchmark class NoSuchBenchmarks")]
    [InlineData("Memcpy", "takes Class.Method")]
    public void Compare_AnUnknownBenchmark_IsAUsageErrorThatNamesIt(string benchmark, string expected)
    {
        (int exit, string output) = RunBenchmarks("--compare", "--baseline", BenchmarksDirectory(), "--benchmark", benchmark, "--seconds", "0.1");

        Assert.Equal(2, exit);
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    [Fact]
    public void Compare_AParameterTheClassDoesNotHave_IsAUsageErrorThatNamesIt()
    {
        (int exit, string output) = RunBenchmarks("--compare", "--baseline", BenchmarksDirectory(), "--benchmark", "ChecksumBenchmarks.Crc32Of", "--param", "Size=4096", "--seconds", "0.1");

        Assert.Equal(2, exit);
        Assert.Contains("has no [Params] property Size", output, StringComparison.Ordinal);
    }

    private static string BenchmarksDirectory() => Path.GetDirectoryName(BenchmarksDll())!;

    private static string BenchmarksDll()
    {
        string configuration = typeof(BenchmarkSmokeTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        return Path.Combine(RepositoryPaths.Root, "perf", "P2pEmu.Benchmarks", "bin", configuration, "net10.0", "P2pEmu.Benchmarks.dll");
    }

    /// <summary>Runs the benchmarks assembly built beside these tests (same configuration) and waits for it.</summary>
    private static (int Exit, string Output) RunBenchmarks(params string[] args)
    {
        string dll = BenchmarksDll();
        Assert.True(File.Exists(dll), $"{dll} was not built");
        var start = new ProcessStartInfo(RepositoryPaths.DotnetHost) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in (string[])["exec", dll, .. args])
        {
            start.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException("the benchmarks did not start");
        System.Threading.Tasks.Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(15)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("the Dry run took more than 15 minutes");
        }

        return (process.ExitCode, output + error.Result);
    }

    private static string Tail(string output) => output.Length <= 4000 ? output : output[^4000..];

    [GeneratedRegex(@"\*{5} Found (\d+) benchmark\(s\) in total \*{5}")]
    private static partial Regex FoundTotal();

    [GeneratedRegex(@"^(.+) beside (\w+): (\d+) rounds in turns", RegexOptions.Multiline)]
    private static partial Regex CompareSummary();

    [GeneratedRegex(@"baseline build / candidate build: time ([0-9.]+)")]
    private static partial Regex CompareTimeRatio();

    [GeneratedRegex(@"Global total time: .*, executed benchmarks: (\d+)")]
    private static partial Regex ExecutedTotal();

    [GeneratedRegex(@"^public (?:sealed )?class (\w+Benchmarks)\b", RegexOptions.Multiline)]
    private static partial Regex DeclaredClass();

    [GeneratedRegex(@"^// Benchmark: (\w+)\.", RegexOptions.Multiline)]
    private static partial Regex RanClass();
}
