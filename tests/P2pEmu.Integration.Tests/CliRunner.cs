using System.IO;
using P2pEmu.Cli;

namespace P2pEmu.Integration.Tests;

/// <summary>Runs <c>p2pemu</c> in-process and captures what it prints.</summary>
internal static class CliRunner
{
    public static (int Exit, string Output, string Error) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exit = Commands.Run(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }
}
