using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using P2pEmu.Cli;
using P2pEmu.Machine.Scenarios;
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
