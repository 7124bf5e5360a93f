using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using Microsoft.Diagnostics.NETCore.Client;
using P2pEmu.Cli;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Integration.Tests;

/// <summary><c>p2pemu trace</c> against a real p2pemu process: a soak, traced over EventPipe for part of its run.</summary>
public sealed class TraceCommandTests
{
    [Fact]
    public void Trace_OfARunningSoak_WritesANettrace_WhoseFabricBytesAreWithinTheSoaksOwnCounts()
    {
        string file = Path.Combine(Path.GetTempPath(), $"p2pemu-trace-{Guid.NewGuid():N}.nettrace");
        using Process soak = StartSoak(seconds: 6);
        try
        {
            WaitForDiagnostics(soak.Id);

            (int exit, string output, string error) = CliRunner.Run("trace", "--pid", soak.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", file, "--duration", "2", "--json");

            string report = soak.StandardOutput.ReadToEnd();
            Assert.True(soak.WaitForExit(60_000));
            Assert.Equal(Commands.ExitOk, exit);
            Assert.Equal(string.Empty, error);
            Assert.Equal(0, soak.ExitCode);
            byte[] magic = new byte[8];
            using (FileStream stream = File.OpenRead(file))
            {
                Assert.Equal(8, stream.Read(magic));
            }

            Assert.Equal("Nettrace", Encoding.ASCII.GetString(magic));
            using var summary = JsonDocument.Parse(output);
            using var soakReport = JsonDocument.Parse(report);
            JsonElement traced = summary.RootElement.GetProperty("summary");
            Assert.True(traced.GetProperty("events").GetInt64() > 0);
            Assert.Contains(traced.GetProperty("eventsByKind").EnumerateArray(), k => k.GetProperty("provider").GetString() == "P2pEmu.Fabric" && k.GetProperty("name").GetString() == "Transfer" && k.GetProperty("count").GetInt64() > 0);
            JsonElement counted = soakReport.RootElement.GetProperty("fabricBytesByPath");
            JsonProperty[] tracedPaths = [.. traced.GetProperty("bytesByPath").EnumerateObject()];
            Assert.NotEmpty(tracedPaths);
            foreach (JsonProperty path in tracedPaths)
            {
                // Part of the soak was traced: every traced route is one the soak counted, with no more bytes.
                Assert.True(counted.TryGetProperty(path.Name, out JsonElement total), $"the soak counted no bytes on {path.Name}");
                Assert.InRange(path.Value.GetInt64(), 1, total.GetInt64());
            }

            Assert.Contains(tracedPaths, p => p.Name is "SwitchPeer" or "RootComplexPeer"); // P2P moved while traced
            Assert.True(soakReport.RootElement.GetProperty("integrityOk").GetBoolean());
        }
        finally
        {
            if (!soak.HasExited)
            {
                soak.Kill();
            }

            File.Delete(file);
        }
    }

    [Fact]
    public void SoakWithoutDuration_EndsOnSigint_WithItsReport_AndExitZero()
    {
        using Process soak = StartSoak(seconds: null);
        try
        {
            WaitForDiagnostics(soak.Id);
            Thread.Sleep(1500);

            Assert.Equal(0, NativeMethods.Kill(soak.Id, NativeMethods.SigInt));

            string report = soak.StandardOutput.ReadToEnd();
            Assert.True(soak.WaitForExit(60_000));
            Assert.Equal(Commands.ExitOk, soak.ExitCode);
            using var json = JsonDocument.Parse(report);
            Assert.True(json.RootElement.GetProperty("rounds").GetInt32() >= 1);
            Assert.True(json.RootElement.GetProperty("integrityOk").GetBoolean());
        }
        finally
        {
            if (!soak.HasExited)
            {
                soak.Kill();
            }
        }
    }

    [Fact]
    public void Trace_OfNoSuchProcess_IsBadInput_AndWritesNoSummary()
    {
        (int exit, string output, string error) = CliRunner.Run("trace", "--pid", "999999", "-o", Path.Combine(Path.GetTempPath(), "none.nettrace"), "--duration", "1");

        Assert.Equal(Commands.ExitBadInput, exit);
        Assert.Equal(string.Empty, output);
        Assert.Contains("no .NET process 999999", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("trace")]
    [InlineData("trace", "--pid", "x")]
    [InlineData("trace", "--pid", "1", "--duration", "-1")]
    public void BadTraceOptions_ExitWithUsage(params string[] args)
    {
        (int exit, string output, string error) = CliRunner.Run(args);

        Assert.Equal(Commands.ExitUsage, exit);
        Assert.Equal(string.Empty, output);
        Assert.Contains("Usage:", error, StringComparison.Ordinal);
    }

    /// <summary>The p2pemu next to the tests, as its own process, soaking for <paramref name="seconds"/>.</summary>
    private static Process StartSoak(int? seconds)
    {
        string p2pemu = typeof(Commands).Assembly.Location;
        var start = new ProcessStartInfo(RepositoryPaths.DotnetHost) { RedirectStandardOutput = true, UseShellExecute = false };
        string[] duration = seconds is int s ? ["--duration", s.ToString(System.Globalization.CultureInfo.InvariantCulture)] : [];
        foreach (string arg in (string[])["exec", p2pemu, "run", "--soak", .. duration, "--json"])
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("p2pemu did not start");
    }

    private static void WaitForDiagnostics(int pid)
    {
        long deadline = Environment.TickCount64 + 20_000;
        while (!DiagnosticsClient.GetPublishedProcesses().Contains(pid))
        {
            Assert.True(Environment.TickCount64 < deadline, $"process {pid} published no diagnostics endpoint");
            Thread.Sleep(50);
        }
    }

    private static class NativeMethods
    {
        public const int SigInt = 2;

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        [System.Runtime.InteropServices.DefaultDllImportSearchPaths(System.Runtime.InteropServices.DllImportSearchPath.SafeDirectories)]
        public static extern int Kill(int pid, int signal);
    }
}
