using System.IO;
using System.Threading;
using Spectre.Console;

namespace P2pEmu.Cli;

/// <summary>Where a command writes, where it may draw progress (null: nowhere), and what stops it.</summary>
internal sealed record CommandContext(TextWriter Output, TextWriter Error, IAnsiConsole? ProgressConsole, CancellationToken CancellationToken);
