using System.CommandLine;
using P2pEmu.Emulator.Topology.Dot;
using P2pEmu.Emulator.Topology.Lspci;
using P2pEmu.Machine.Reports;

namespace P2pEmu.Cli;

/// <summary><c>p2pemu topo</c>: the enumerated tree, an <c>lspci -xxxx</c> style dump, or a Graphviz picture.</summary>
internal sealed class TopoCommand
{
    private readonly Argument<string> _topology = Commands.TopologyArgument();
    private readonly Option<bool> _lspci = new("--lspci") { Description = "an lspci -xxxx style dump (lspci -F reads it)" };
    private readonly Option<bool> _dot = new("--dot") { Description = "a Graphviz picture of the tree" };

    public TopoCommand()
    {
        Command = new Command("topo", "the enumerated tree; an lspci -xxxx style dump; a Graphviz picture") { _topology, _lspci, _dot };
        Command.Validators.Add(result =>
        {
            if (result.GetValue(_lspci) && result.GetValue(_dot))
            {
                result.AddError("--lspci and --dot exclude each other");
            }
        });
    }

    public Command Command { get; }

    public int Invoke(ParseResult parse, CommandContext context)
    {
        using Machine.Machine machine = Machine.Machine.Load(parse.GetRequiredValue(_topology));
        string text = parse.GetValue(_lspci) ? LspciDumpWriter.Write(machine.Fabric)
            : parse.GetValue(_dot) ? DotWriter.Write(machine.Fabric)
            : TopologyTreeReport.Render(machine.Fabric);
        context.Output.Write(text);
        return Commands.ExitOk;
    }
}
