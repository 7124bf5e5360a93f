using System;
using System.Collections.Generic;
using System.Globalization;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.IO;
using System.Linq;
using System.Threading;
using P2pEmu.Cli.Trace;
using P2pEmu.Emulator.Topology;
using Spectre.Console;

namespace P2pEmu.Cli;

/// <summary>The <c>p2pemu</c> command line (System.CommandLine): parses, runs one command, returns the exit status.</summary>
public static class Commands
{
    public const int ExitOk = 0;

    /// <summary>The topology (or another input) is bad; the message says where and why.</summary>
    public const int ExitBadInput = 1;

    /// <summary>The command line is wrong; the message says how, followed by the command's help.</summary>
    public const int ExitUsage = 2;

    /// <summary>A transfer delivered wrong bytes, or a refused one changed its target.</summary>
    public const int ExitIntegrityFailure = 3;

    /// <summary>The built-in topology `p2pemu` and `p2pemu run` use.</summary>
    public const string DefaultTopology = "default";

    /// <param name="progressConsole">Where `run` draws its progress table; null: no progress (output is not a terminal).</param>
    /// <param name="cancellationToken">Ends a soak (Ctrl-C), which then reports.</param>
    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error, IAnsiConsole? progressConsole = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var context = new CommandContext(output, error, progressConsole, cancellationToken);
        var run = new RunCommand();
        var topo = new TopoCommand();
        var p2p = new P2pCommand();
        var trace = new TraceCommand();
        var bench = new BenchCommand();
        var root = new RootCommand($"p2pemu: a PCIe machine doing peer-to-peer DMA the way Linux does it. Without a command, `run` on the built-in default. Built-in topologies: {string.Join(", ", BuiltInTopologies.Names)}.")
        {
            run.Command, topo.Command, p2p.Command, bench.Command, trace.Command,
        };
        root.SetAction(_ => RunCommand.Default(DefaultTopology, json: false, pcap: null, progressConsole, output));
        run.Command.SetAction(parse => run.Invoke(parse, context));
        topo.Command.SetAction(parse => topo.Invoke(parse, context));
        p2p.Command.SetAction(parse => p2p.Invoke(parse, context));
        trace.Command.SetAction(parse => trace.Invoke(parse, context));
        bench.Command.SetAction(parse => bench.Invoke(parse, context));

        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (string problem in parsed.Errors.Select(e => e.Message).Distinct())
            {
                error.WriteLine($"p2pemu: {problem}");
            }

            error.WriteLine();
            root.Parse([.. CommandPath(parsed.CommandResult), "--help"]).Invoke(new InvocationConfiguration { Output = error });
            return ExitUsage;
        }

        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (TopologyException e)
        {
            error.WriteLine($"p2pemu: {e.Message}");
            return ExitBadInput;
        }
    }

    /// <summary>An option's value in seconds: a number above 0, else a parse error naming the option.</summary>
    internal static double? PositiveSeconds(ArgumentResult result)
    {
        string text = result.Tokens[0].Value;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds > 0 && double.IsFinite(seconds))
        {
            return seconds;
        }

        string option = result.Parent is OptionResult o ? o.Option.Name : "the option";
        result.AddError($"{option} takes a number of seconds above 0, not '{text}'");
        return null;
    }

    /// <summary>Every token split at commas, empty pieces dropped: `--x a,b --x c` is a, b, c.</summary>
    internal static IEnumerable<string> CommaSeparated(ArgumentResult result) =>
        result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>The TOPOLOGY argument of the commands that read one.</summary>
    internal static Argument<string> TopologyArgument() =>
        NoOptionLikeValues(new Argument<string>("TOPOLOGY") { Description = "a topology file, an lspci -xxxx dump or a built-in topology name" });

    /// <summary>A value of <paramref name="argument"/> that starts with '-' is an option this command does not have, not a file name.</summary>
    internal static T NoOptionLikeValues<T>(T argument)
        where T : Argument
    {
        argument.Validators.Add(result =>
        {
            foreach (Token token in result.Tokens.Where(t => t.Value.StartsWith('-')))
            {
                result.AddError($"Unrecognized option '{token.Value}'.");
            }
        });
        return argument;
    }

    /// <summary>The subcommand names from the root down to <paramref name="command"/>'s command.</summary>
    private static List<string> CommandPath(CommandResult command)
    {
        var path = new List<string>();
        for (CommandResult? c = command; c?.Parent is CommandResult parent; c = parent)
        {
            path.Insert(0, c.Command.Name);
        }

        return path;
    }
}
