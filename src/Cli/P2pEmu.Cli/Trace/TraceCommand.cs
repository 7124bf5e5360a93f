using System;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Text.Json;
using Microsoft.Diagnostics.NETCore.Client;

namespace P2pEmu.Cli.Trace;

/// <summary>
/// <c>p2pemu trace --pid PID [-o FILE] [--duration S] [--providers ...]</c>: an EventPipe session on a running p2pemu,
/// written to a <c>.nettrace</c> that dotnet-trace, PerfView and TraceEvent open, then summed up.
/// </summary>
internal sealed class TraceCommand
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private readonly Option<int> _pid = new("--pid") { Description = "the process to trace (a running p2pemu, e.g. `p2pemu run --soak`)", Required = true };
    private readonly Option<FileInfo?> _output = new("-o", "--output") { Description = "the .nettrace file to write (default: p2pemu-PID.nettrace)", HelpName = "FILE" };
    private readonly Option<double?> _duration = new("--duration")
    {
        Description = "how long to trace, in seconds (default: until Ctrl-C or the process exits)",
        HelpName = "S",
        CustomParser = Commands.PositiveSeconds,
    };

    private readonly Option<string[]> _providers = new("--providers")
    {
        Description = $"EventSources to enable, comma-separated or repeated (default: {string.Join(",", TraceProviders.Default)})",
        HelpName = "NAME",
        CustomParser = result => [.. Commands.CommaSeparated(result)],
    };

    private readonly Option<bool> _json = new("--json") { Description = "print the summary as one JSON object" };

    public TraceCommand() =>
        Command = new Command("trace", "EventPipe collection from a running p2pemu into a .nettrace, and a summary of it") { _pid, _output, _duration, _providers, _json };

    public Command Command { get; }

    public int Invoke(ParseResult parse, CommandContext context)
    {
        int pid = parse.GetValue(_pid);
        string file = parse.GetValue(_output)?.FullName ?? Path.GetFullPath(string.Create(CultureInfo.InvariantCulture, $"p2pemu-{pid}.nettrace"));
        TimeSpan? duration = parse.GetValue(_duration) is double seconds ? TimeSpan.FromSeconds(seconds) : null;
        long written;
        try
        {
            written = TraceCollector.Collect(pid, file, TraceProviders.For(parse.GetValue(_providers)), duration, context.CancellationToken);
        }
        catch (ServerNotAvailableException e)
        {
            context.Error.WriteLine($"p2pemu: no .NET process {pid} to trace: {e.Message}");
            return Commands.ExitBadInput;
        }

        TraceSummary summary = TraceSummary.Read(file);
        context.Output.Write(parse.GetValue(_json)
            ? JsonSerializer.Serialize(new { file, bytes = written, summary }, s_json) + Environment.NewLine
            : TraceSummaryText.Render(file, written, summary));
        return Commands.ExitOk;
    }
}
