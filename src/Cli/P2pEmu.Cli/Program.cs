using System;

namespace P2pEmu.Cli;

/// <summary>The <c>p2pemu</c> command.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        return Commands.Run(args, Console.Out, Console.Error);
    }
}
