using System;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Text.Json;
using P2pEmu.Machine.Scenarios;
using P2pEmu.Machine.Scenarios.Workload;
using Spectre.Console;

namespace P2pEmu.Cli;

/// <summary><c>p2pemu run</c>: the scenario, the report, and the exit status that says whether every byte was right.</summary>
internal sealed class RunCommand
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private readonly Argument<string?> _scenario = Commands.NoOptionLikeValues(new Argument<string?>("SCENARIO")
    {
        Description = "a scenario file (docs/scenarios.md), or a topology file, an lspci -xxxx dump or a built-in topology name to run the default scenario on (default: the built-in default)",
        Arity = ArgumentArity.ZeroOrOne,
    });

    private readonly Option<bool> _json = new("--json") { Description = "print the report as one JSON object (fields: docs/report-json.md)" };
    private readonly Option<FileInfo?> _pcap = new("--pcap") { Description = "capture every NIC link into this pcap file", HelpName = "FILE" };
    private readonly Option<bool> _soak = new("--soak") { Description = "move data along every path round after round until --duration is over or Ctrl-C" };
    private readonly Option<double?> _duration = new("--duration")
    {
        Description = "how long a soak runs, in seconds (default: until Ctrl-C)",
        HelpName = "S",
        CustomParser = Commands.PositiveSeconds,
    };

    public RunCommand()
    {
        Command = new Command("run", "build the machine, move data along every path, verify every byte, report") { _scenario, _json, _pcap, _soak, _duration };
        Command.Validators.Add(result =>
        {
            bool soak = result.GetResult(_soak) is not null;
            if (result.GetResult(_duration) is not null && !soak)
            {
                result.AddError("--duration needs --soak");
            }
            else if (soak && result.GetResult(_pcap) is not null)
            {
                result.AddError("--pcap captures the default run, not a soak");
            }
        });
    }

    public Command Command { get; }

    public int Invoke(ParseResult parse, CommandContext context)
    {
        string source = parse.GetValue(_scenario) ?? Commands.DefaultTopology;
        bool json = parse.GetValue(_json);
        IAnsiConsole? progress = json ? null : context.ProgressConsole;
        if (File.Exists(source) && ScenarioFile.LooksLikeScenario(File.ReadAllText(source)))
        {
            if (parse.GetValue(_soak) || parse.GetValue(_pcap) is not null)
            {
                context.Error.WriteLine("p2pemu: --soak and --pcap run the default scenario; a scenario file says what it runs");
                return Commands.ExitUsage;
            }

            return Scenario(ScenarioFile.Load(source), json, progress, context);
        }

        if (parse.GetValue(_soak))
        {
            TimeSpan? duration = parse.GetValue(_duration) is double seconds ? TimeSpan.FromSeconds(seconds) : null;
            return Soak(source, duration, json, progress, context);
        }

        return Default(source, json, parse.GetValue(_pcap)?.FullName, progress, context.Output);
    }

    /// <summary>The default scenario on <paramref name="topology"/>: every stage, then the report.</summary>
    public static int Default(string topology, bool json, string? pcap, IAnsiConsole? progressConsole, TextWriter output)
    {
        TransferReport report = RunStages.Show(progressConsole, stages => DefaultScenario.Run(topology, pcap, new StageProgress(stages)));
        output.Write(json ? JsonSerializer.Serialize(report, s_json) + Environment.NewLine : TransferReportText.Render(report));
        return report.IntegrityOk ? Commands.ExitOk : Commands.ExitIntegrityFailure;
    }

    private static int Scenario(ScenarioDescription scenario, bool json, IAnsiConsole? progressConsole, CommandContext context)
    {
        ScenarioReport report = RunStages.Show(progressConsole, stages => ScenarioRunner.Run(scenario, new StageProgress(stages), context.CancellationToken));
        context.Output.Write(json ? JsonSerializer.Serialize(report, s_json) + Environment.NewLine : ScenarioReportText.Render(report));
        return report.IntegrityOk ? Commands.ExitOk : Commands.ExitIntegrityFailure;
    }

    private static int Soak(string topology, TimeSpan? duration, bool json, IAnsiConsole? progressConsole, CommandContext context)
    {
        SoakReport report = RunStages.Show(progressConsole, stages =>
        {
            RunStages.Stage stage = stages.Add("soak", duration?.TotalSeconds);
            using Machine.Machine machine = Machine.Machine.Load(topology);
            SoakReport done = SoakScenario.Run(machine, duration, context.CancellationToken, new Progress(r =>
            {
                stage.SetValue(r.Seconds);
                stage.Describe(string.Create(CultureInfo.InvariantCulture, $"soak: round {r.Rounds}, {r.Bytes / (double)(1 << 30):F2} GiB, integrity {(r.IntegrityOk ? "ok" : "FAILED")}"));
            }));
            stage.Done();
            return done;
        });
        context.Output.Write(json ? JsonSerializer.Serialize(report, s_json) + Environment.NewLine : SoakReportText.Render(topology, report));
        return report.IntegrityOk ? Commands.ExitOk : Commands.ExitIntegrityFailure;
    }

    /// <summary>Progress that reports on the calling thread (the soak's), unlike <see cref="Progress{T}"/>.</summary>
    private sealed class Progress(Action<SoakReport> report) : IProgress<SoakReport>
    {
        public void Report(SoakReport value) => report(value);
    }
}
