using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using P2pEmu.Cli;
using P2pEmu.Machine.Scenarios;
using P2pEmu.Testing;
using Spectre.Console;
using Xunit;

namespace P2pEmu.Integration.Tests;

/// <summary><c>p2pemu run</c>'s progress table and its soak.</summary>
public sealed class CliRunTests
{
    [Fact]
    public void Run_OnAnInteractiveConsole_DrawsAProgressRowPerStage_CompletedBeforeTheReport()
    {
        using var screen = new StringWriter();
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(screen),
            Interactive = InteractionSupport.Yes,
            Ansi = AnsiSupport.Yes,
            ColorSystem = ColorSystemSupport.NoColors,
        });
        console.Profile.Width = 160;
        using var output = new StringWriter();
        using var error = new StringWriter();

        int exit = Commands.Run(["run"], output, error, console);

        Assert.Equal(Commands.ExitOk, exit);
        string drawn = screen.ToString();
        foreach (string stage in new[] { DefaultScenario.Transfers, DefaultScenario.Storage, DefaultScenario.Rdma, DefaultScenario.Paths })
        {
            Assert.Contains(stage, drawn, StringComparison.Ordinal);
        }

        Assert.Contains("100%", drawn, StringComparison.Ordinal);
        Assert.Matches(@"paths: nvme2n1 -> nvme3 p2pmem \(allocate mmap, O_DIRECT; [a-z]*\.\.\. +\S+ +100%", drawn); // the last path to finish, cut to one line
        Assert.Matches(@"storage scenario: [0-9]+ O_DIRECT calls +\S+ +100%", drawn);
        Assert.DoesNotContain("100%", output.ToString(), StringComparison.Ordinal); // the report itself stays plain
        Assert.Contains("integrity ok", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Run_WithJson_DrawsNoProgress()
    {
        using var screen = new StringWriter();
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(screen), Interactive = InteractionSupport.Yes });
        using var output = new StringWriter();

        Assert.Equal(Commands.ExitOk, Commands.Run(["run", "--json"], output, TextWriter.Null, console));

        Assert.Equal(string.Empty, screen.ToString());
        using var json = JsonDocument.Parse(output.ToString());
        Assert.True(json.RootElement.GetProperty("integrityOk").GetBoolean());
    }

    [Fact]
    public void Soak_ForADuration_RunsRoundsOfEveryPath_AndReportsTheirSums()
    {
        (int exit, string output, string error) = CliRunner.Run("run", "--soak", "--duration", "1.5", "--json");

        Assert.Equal(Commands.ExitOk, exit);
        Assert.Equal(string.Empty, error);
        using var json = JsonDocument.Parse(output);
        JsonElement root = json.RootElement;
        int rounds = root.GetProperty("rounds").GetInt32();
        Assert.True(rounds >= 1);
        Assert.True(root.GetProperty("seconds").GetDouble() >= 1.5);
        Assert.True(root.GetProperty("integrityOk").GetBoolean());
        JsonElement[] paths = [.. root.GetProperty("paths").EnumerateArray()];
        Assert.Equal(PathScenario.MaxPaths, paths.Length);
        Assert.Equal((long)rounds * SoakScenario.DefaultBytes, paths[0].GetProperty("bytes").GetInt64()); // the P2P offload path, every round
        Assert.Equal((long)rounds * SoakScenario.DefaultBytes / 2, paths[3].GetProperty("bytes").GetInt64()); // the DMABUF path stops halfway each round
        Assert.Equal(paths.Sum(p => p.GetProperty("bytes").GetInt64()), root.GetProperty("bytes").GetInt64());
        Assert.All(paths, p => Assert.True(p.GetProperty("checksumOk").GetBoolean(), p.GetProperty("name").GetString()));
    }

    [Fact]
    public void Soak_WithoutADuration_EndsWhenCancelled_WithItsReport()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        using var output = new StringWriter();

        int exit = Commands.Run(["run", "--soak"], output, TextWriter.Null, cancellationToken: stop.Token);

        Assert.Equal(Commands.ExitOk, exit);
        Assert.Matches(@"^soak on default: [1-9][0-9]* rounds in [0-9.]+ s, [0-9.]+ GiB delivered", output.ToString());
        Assert.EndsWith("integrity ok" + Environment.NewLine, output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Run_OfAScenarioFile_ReportsItsPathsAndFaults_AsJson()
    {
        string file = Path.Combine(RepositoryPaths.Root, "examples", "scenarios", "dmabuf-revoke.jsonc");

        (int exit, string output, string error) = CliRunner.Run("run", file, "--json");

        Assert.Equal(Commands.ExitOk, exit);
        Assert.Equal(string.Empty, error);
        using var json = JsonDocument.Parse(output);
        JsonElement root = json.RootElement;
        Assert.Equal("dmabuf-revoke", root.GetProperty("name").GetString());
        Assert.True(root.GetProperty("integrityOk").GetBoolean());
        JsonElement path = Assert.Single(root.GetProperty("paths").EnumerateArray().ToArray());
        Assert.Equal(10L * 65536, path.GetProperty("bytes").GetInt64());
        Assert.Equal("chunk 10: IB_WC_REM_ACCESS_ERR", path.GetProperty("errors")[0].GetString());
        JsonElement fault = Assert.Single(root.GetProperty("faults").EnumerateArray().ToArray());
        Assert.Equal(("revoke-dmabuf", "accel0", 9), (fault.GetProperty("action").GetString(), fault.GetProperty("device").GetString(), fault.GetProperty("afterChunk").GetInt32()));
    }

    [Fact]
    public void Run_OfABadScenarioFile_IsBadInput_NamingTheJsonPath()
    {
        string file = Path.Combine(Path.GetTempPath(), $"p2pemu-bad-{Guid.NewGuid():N}.jsonc");
        File.WriteAllText(file, """{ "topology": "default", "transfers": [ { "path": "dma", "from": "nvme0", "to": "nvme9", "size": 1 } ] }""");
        try
        {
            (int exit, string output, string error) = CliRunner.Run("run", file);

            Assert.Equal(Commands.ExitBadInput, exit);
            Assert.Equal(string.Empty, output);
            Assert.StartsWith("p2pemu: $.transfers[0].to: 'nvme9' is neither \"host\" nor a device that publishes p2pmem", error, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("run", "--duration", "5")]
    [InlineData("run", "--soak", "--duration", "0")]
    [InlineData("run", "--soak", "--duration", "soon")]
    [InlineData("run", "--soak", "--pcap", "x.pcap")]
    public void BadSoakOptions_ExitWithUsage(params string[] args)
    {
        (int exit, string output, string error) = CliRunner.Run(args);

        Assert.Equal(Commands.ExitUsage, exit);
        Assert.Equal(string.Empty, output);
        Assert.Contains("Usage:", error, StringComparison.Ordinal);
    }
}
