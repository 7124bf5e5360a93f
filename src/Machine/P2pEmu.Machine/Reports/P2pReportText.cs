using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Machine.Reports;

/// <summary>The P2P verdicts as a matrix a person reads, with a legend, and the reasons per pair on request.</summary>
public static class P2pReportText
{
    public static string Render(Machine machine, P2pReport report, bool explain)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(report);
        var text = new StringBuilder();
        P2pDmaHost host = machine.P2pDma;
        var platform = machine.Topology.Platform;
        text.Append(CultureInfo.InvariantCulture, $"P2PDMA verdicts (kernel {(platform.Kernel == Emulator.Topology.KernelProfile.Linux619 ? "6.19" : "revoke-2026")}, cpu {platform.CpuVendor.ToString().ToLowerInvariant()} family 0x{platform.CpuFamily:x}; rows are providers, columns clients)");
        text.AppendLine().AppendLine();
        List<PciFunction> providers = report.Pairs.Select(p => p.Provider).Distinct().ToList();
        List<PciFunction> clients = report.Pairs.Select(p => p.Client).Distinct().ToList();
        var cells = report.Pairs.ToDictionary(p => (p.Provider, p.Client));
        int rowWidth = Math.Max(8, providers.Max(p => p.Name.Length));
        int[] widths = clients.Select(c => Math.Max(c.Name.Length, 4)).ToArray();
        text.Append(' ', rowWidth);
        for (int i = 0; i < clients.Count; i++)
        {
            text.Append("  ").Append(clients[i].Name.PadLeft(widths[i]));
        }

        text.AppendLine();
        foreach (PciFunction provider in providers)
        {
            text.Append(provider.Name.PadRight(rowWidth));
            for (int i = 0; i < clients.Count; i++)
            {
                string cell = cells.TryGetValue((provider, clients[i]), out P2pVerdict? v) ? Cell(v) : string.Empty;
                text.Append("  ").Append(cell.PadLeft(widths[i]));
            }

            text.AppendLine();
        }

        text.AppendLine();
        text.AppendLine("B = BUS_ADDR: the client uses the provider's PCI bus address; the traffic turns around below the root complex");
        text.AppendLine("T = THRU_HOST_BRIDGE: the traffic goes through the root complex; the client gets an IOMMU or CPU address");
        text.AppendLine("- = NOT_SUPPORTED: pci_p2pdma_distance() returns -1");
        text.AppendLine("The number is the distance the kernel computes (chain nodes when there is no common upstream device).");
        if (report.DistanceMany is int many)
        {
            text.AppendLine().Append(CultureInfo.InvariantCulture, $"pci_p2pdma_distance_many({providers[0].Name}, {string.Join(", ", clients.Select(c => c.Name))}) = {many}").AppendLine();
        }

        if (explain)
        {
            text.AppendLine();
            foreach (P2pVerdict v in report.Pairs)
            {
                text.Append(Explain(host, v)).AppendLine();
            }

            foreach (string line in report.KernelLog)
            {
                text.Append("dmesg: ").AppendLine(line);
            }
        }

        return text.ToString();
    }

    /// <summary>One pair's verdict and reasons in a sentence.</summary>
    public static string Explain(P2pDmaHost host, P2pVerdict v)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(v);
        var line = new StringBuilder();
        line.Append(CultureInfo.InvariantCulture, $"{v.Provider.Name} -> {v.Client.Name}: {P2pMatrix.MapTypeName(v.MapType)}, distance {v.Distance} (path {v.PathDistance}); ");
        line.Append(v.CommonUpstream is null
            ? "no common upstream device"
            : ReferenceEquals(v.CommonUpstream, v.Provider) ? "the same device" : $"common upstream {v.CommonUpstream.Name} ({v.CommonUpstream.Address})");
        if (v.RedirectingDevices.Count == 0)
        {
            line.Append("; no ACS redirect on the path");
        }
        else
        {
            line.Append("; ACS redirects (RR/CR/EC) at ").Append(string.Join(", ", v.RedirectingDevices.Select(d => $"{d.Name} ({d.Address})")));
            line.Append(" [pci=disable_acs_redir=").Append(string.Join(";", v.RedirectingDevices.Select(d => d.Address))).Append(']');
        }

        if (v.MapType != PciP2pdmaMapType.BusAddr || v.RedirectingDevices.Count > 0 || v.CommonUpstream is null)
        {
            line.Append("; host bridge ").Append(v.HostBridgeAllowed ? "allowed: " : "refused: ").Append(host.DescribeHostBridgeDecision(v.Provider, v.Client));
        }

        return line.ToString();
    }

    private static string Cell(P2pVerdict v) => v.MapType switch
    {
        PciP2pdmaMapType.BusAddr => "B" + v.PathDistance.ToString(CultureInfo.InvariantCulture),
        PciP2pdmaMapType.ThruHostBridge => "T" + v.PathDistance.ToString(CultureInfo.InvariantCulture),
        _ => "-" + v.PathDistance.ToString(CultureInfo.InvariantCulture),
    };
}
