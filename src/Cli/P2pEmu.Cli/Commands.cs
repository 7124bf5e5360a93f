using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using P2pEmu.Emulator.Topology;
using P2pEmu.Emulator.Topology.Dot;
using P2pEmu.Emulator.Topology.Lspci;
using P2pEmu.Machine.Reports;
using P2pEmu.Machine.Scenarios;

namespace P2pEmu.Cli;

/// <summary>Parses the command line and runs one command; returns the process exit code.</summary>
public static class Commands
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public const int ExitOk = 0;

    /// <summary>The topology (or another input) is bad; the message says where and why.</summary>
    public const int ExitBadInput = 1;

    public const int ExitUsage = 2;

    /// <summary>A transfer delivered wrong bytes, or a refused one changed its target.</summary>
    public const int ExitIntegrityFailure = 3;

    /// <summary>The built-in topology `p2pemu` and `p2pemu run` use.</summary>
    public const string DefaultTopology = "default";

    public const string Usage = """
        usage:
          p2pemu                              run the built-in default scenario (same as `p2pemu run`)
          p2pemu run [TOPOLOGY] [--json] [--pcap FILE]
                                              every endpoint writes to host RAM and to every memory BAR; each
                                              transfer is routed, checked with XxHash3 and reported; then O_DIRECT
                                              storage and RDMA between cabled NICs; --pcap captures the NIC links
          p2pemu topo TOPOLOGY [--lspci | --dot]
                                              the enumerated tree; an lspci -xxxx style dump; a Graphviz picture
          p2pemu p2p TOPOLOGY [--json] [--explain] [--provider NAME] [--client NAME ...]
                                              the kernel's P2PDMA verdict (map type, distance) for every pair of
                                              endpoint functions, or one provider against clients (distance_many)
        TOPOLOGY is a topology file (JSON), a real machine's `lspci -xxxx` dump, or a built-in name:
        """;

    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        try
        {
            if (args.Count == 0)
            {
                return RunScenario(DefaultTopology, json: false, pcap: null, output);
            }

            switch (args[0])
            {
                case "run":
                    return RunRun(args, output, error);
                case "topo":
                    return RunTopo(args, output, error);
                case "p2p":
                    return RunP2p(args, output, error);
                case "-h":
                case "--help":
                case "help":
                    output.WriteLine(Usage + "  " + string.Join(", ", BuiltInTopologies.Names));
                    return ExitOk;
                default:
                    return UsageError(error, $"unknown command '{args[0]}'");
            }
        }
        catch (TopologyException e)
        {
            error.WriteLine($"p2pemu: {e.Message}");
            return ExitBadInput;
        }
    }

    private static int RunRun(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        string? topology = null;
        string? pcap = null;
        bool json = false;
        for (int i = 1; i < args.Count; i++)
        {
            if (args[i] == "--json" && !json)
            {
                json = true;
            }
            else if (args[i] == "--pcap" && pcap is null)
            {
                if (i + 1 >= args.Count)
                {
                    return UsageError(error, "--pcap needs a FILE");
                }

                pcap = args[++i];
            }
            else if (args[i].StartsWith("--", StringComparison.Ordinal) || topology is not null)
            {
                return UsageError(error, $"unexpected argument '{args[i]}'");
            }
            else
            {
                topology = args[i];
            }
        }

        return RunScenario(topology ?? DefaultTopology, json, pcap, output);
    }

    private static int RunScenario(string topology, bool json, string? pcap, TextWriter output)
    {
        // The scenario makes every device DMA on its own and writes every memory BAR: no driver may own them.
        TransferReport report;
        using (Machine.Machine machine = Machine.Machine.Load(topology, bindDrivers: false))
        {
            report = TransferScenario.Run(machine, topology);
        }

        // Storage goes through the drivers, on a machine of its own where they own their devices.
        // RDMA too: the RDMA driver owns the NICs, vfio-pci the accelerators.
        using (Machine.Machine machine = Machine.Machine.Load(topology))
        {
            report = report with { Storage = StorageScenario.Run(machine) };
            report = report with { Rdma = RdmaScenario.Run(machine, pcap), Paths = PathScenario.Run(machine) };
        }

        output.Write(json ? JsonSerializer.Serialize(report, s_json) + Environment.NewLine : TransferReportText.Render(report));
        return report.IntegrityOk ? ExitOk : ExitIntegrityFailure;
    }

    private static int RunP2p(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        string? topology = null;
        string? provider = null;
        var clients = new List<string>();
        bool json = false;
        bool explain = false;
        for (int i = 1; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--json":
                    json = true;
                    break;
                case "--explain":
                    explain = true;
                    break;
                case "--provider" when i + 1 < args.Count && provider is null:
                    provider = args[++i];
                    break;
                case "--client" when i + 1 < args.Count:
                    clients.Add(args[++i]);
                    break;
                default:
                    if (args[i].StartsWith("--", StringComparison.Ordinal) || topology is not null)
                    {
                        return UsageError(error, $"unexpected argument '{args[i]}'");
                    }

                    topology = args[i];
                    break;
            }
        }

        if (topology is null)
        {
            return UsageError(error, "p2p needs a TOPOLOGY");
        }

        using Machine.Machine machine = Machine.Machine.Load(topology);
        P2pReport report = P2pMatrix.Compute(machine, provider, clients);
        output.Write(json ? P2pReportJson.Render(machine, report, explain) : P2pReportText.Render(machine, report, explain));
        return ExitOk;
    }

    private static int RunTopo(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        string? topology = null;
        TopoFormat format = TopoFormat.Tree;
        for (int i = 1; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--lspci" when format == TopoFormat.Tree:
                    format = TopoFormat.Lspci;
                    break;
                case "--dot" when format == TopoFormat.Tree:
                    format = TopoFormat.Dot;
                    break;
                case "--lspci":
                case "--dot":
                    return UsageError(error, "--lspci and --dot exclude each other");
                default:
                    if (args[i].StartsWith("--", StringComparison.Ordinal) || topology is not null)
                    {
                        return UsageError(error, $"unexpected argument '{args[i]}'");
                    }

                    topology = args[i];
                    break;
            }
        }

        return topology is null ? UsageError(error, "topo needs a TOPOLOGY") : Topo(topology, format, output);
    }

    private static int Topo(string topology, TopoFormat format, TextWriter output)
    {
        using Machine.Machine machine = Machine.Machine.Load(topology);
        string text = format switch
        {
            TopoFormat.Lspci => LspciDumpWriter.Write(machine.Fabric),
            TopoFormat.Dot => DotWriter.Write(machine.Fabric),
            _ => TopologyTreeReport.Render(machine.Fabric),
        };
        output.Write(text);
        return ExitOk;
    }

    private static int UsageError(TextWriter error, string problem)
    {
        error.WriteLine($"p2pemu: {problem}");
        error.WriteLine(Usage + "  " + string.Join(", ", BuiltInTopologies.Names));
        return ExitUsage;
    }

    private enum TopoFormat
    {
        Tree,
        Lspci,
        Dot,
    }
}
