using System;
using System.CommandLine;
using P2pEmu.Machine.Reports;

namespace P2pEmu.Cli;

/// <summary><c>p2pemu p2p</c>: the kernel's P2PDMA verdicts, for every pair or for one provider against clients.</summary>
internal sealed class P2pCommand
{
    private readonly Argument<string> _topology = Commands.TopologyArgument();
    private readonly Option<bool> _json = new("--json") { Description = "one JSON object with a pairs array" };
    private readonly Option<bool> _explain = new("--explain") { Description = "every verdict's reasons, and the kernel log" };
    private readonly Option<string?> _provider = new("--provider") { Description = "only this provider (a name or a PCI address)", HelpName = "NAME" };
    private readonly Option<string[]> _clients = new("--client") { Description = "against these clients, with pci_p2pdma_distance_many", HelpName = "NAME" };

    public P2pCommand() =>
        Command = new Command("p2p", "the kernel's P2PDMA verdict (map type, distance) for every pair of endpoint functions, or one provider against clients")
        {
            _topology, _json, _explain, _provider, _clients,
        };

    public Command Command { get; }

    public int Invoke(ParseResult parse, CommandContext context)
    {
        using Machine.Machine machine = Machine.Machine.Load(parse.GetRequiredValue(_topology));
        bool explain = parse.GetValue(_explain);
        P2pReport report = P2pMatrix.Compute(machine, parse.GetValue(_provider), parse.GetValue(_clients) ?? Array.Empty<string>());
        context.Output.Write(parse.GetValue(_json) ? P2pReportJson.Render(machine, report, explain) : P2pReportText.Render(machine, report, explain));
        return Commands.ExitOk;
    }
}
