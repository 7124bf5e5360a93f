using System;
using System.Threading;
using Spectre.Console;

namespace P2pEmu.Cli;

/// <summary>The <c>p2pemu</c> command.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // The first Ctrl-C ends a soak cleanly, with its report; a second one ends the process.
            e.Cancel = !stop.IsCancellationRequested;
            stop.Cancel();
        };
        IAnsiConsole? progress = Console.IsOutputRedirected ? null : AnsiConsole.Console;
        return Commands.Run(args, Console.Out, Console.Error, progress, stop.Token);
    }
}
