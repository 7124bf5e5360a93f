using System;
using System.Globalization;
using System.Text;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Emulator.Topology.Dot;

/// <summary>
/// Writes a fabric's tree as a Graphviz digraph (<c>p2pemu topo --dot</c>): each host bridge (name,
/// segment:bus, IOMMU mode, whether its root complex forwards peer-to-peer) points to the functions on its
/// root bus, each bridge to the functions on its secondary bus, and each SR-IOV PF to its VFs, which are
/// dashed. A function's label gives its name, address, kind and, when it has an ACS capability, the ACS
/// control bits the fabric routes by (e.g. <c>ACS RR CR</c>).
/// </summary>
/// <remarks>
/// Node IDs are <c>hb:&lt;index&gt;</c> and <c>fn:&lt;address&gt;</c>, so no topology name can collide with
/// another node; names appear only in labels, escaped for DOT's quoted strings. Nodes and edges follow the
/// kernel's order (bus by bus, depth first), so the text is stable for a given topology. Render it with
/// <c>dot -Tsvg</c>.
/// </remarks>
public static class DotWriter
{
    private static readonly (AcsFlags Flag, string Mnemonic)[] s_acsBits =
    [
        (AcsFlags.SV, "SV"),
        (AcsFlags.TB, "TB"),
        (AcsFlags.RR, "RR"),
        (AcsFlags.CR, "CR"),
        (AcsFlags.UF, "UF"),
        (AcsFlags.EC, "EC"),
        (AcsFlags.DT, "DT"),
    ];

    /// <summary>Writes the fabric's hierarchy as a DOT digraph.</summary>
    /// <param name="fabric">An enumerated fabric; bus numbers and ACS control are read as software left them.</param>
    /// <returns>The DOT text, lines separated by <c>\n</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="fabric"/> is null.</exception>
    public static string Write(PcieFabric fabric)
    {
        ArgumentNullException.ThrowIfNull(fabric);
        var dot = new StringBuilder();
        dot.Append("digraph \"pcie\" {\n");
        dot.Append("    graph [rankdir=TB];\n");
        dot.Append("    node [shape=box, fontname=\"monospace\"];\n");
        foreach (HostBridge hb in fabric.HostBridges)
        {
            string id = HostBridgeId(hb);
            string label = string.Create(
                CultureInfo.InvariantCulture,
                $"{hb.Name}\n{hb.Segment:x4}:{hb.RootBus.Number:x2}\niommu {IommuText(hb.Iommu)}\nrootComplexP2p {(hb.RootComplexP2p ? "true" : "false")}");
            dot.Append(CultureInfo.InvariantCulture, $"    {Quote(id)} [shape=box3d, label={Quote(label)}];\n");
            WriteBus(dot, hb.RootBus, id);
        }

        dot.Append("}\n");
        return dot.ToString();
    }

    /// <summary>Quotes <paramref name="text"/> as a DOT string: backslashes and quotes escaped, line breaks as <c>\n</c>.</summary>
    private static string Quote(string text)
    {
        var quoted = new StringBuilder(text.Length + 2);
        quoted.Append('"');
        foreach (char c in text)
        {
            switch (c)
            {
                case '\\':
                    quoted.Append(@"\\");
                    break;
                case '"':
                    quoted.Append("\\\"");
                    break;
                case '\n':
                    quoted.Append(@"\n");
                    break;
                case '\r':
                    break;
                default:
                    quoted.Append(c);
                    break;
            }
        }

        return quoted.Append('"').ToString();
    }

    private static void WriteBus(StringBuilder dot, PciBus bus, string parentId)
    {
        foreach (PciFunction function in bus.Functions)
        {
            if (function is PciEndpoint { IsVirtualFunction: true })
            {
                continue;
            }

            string id = FunctionId(function);
            WriteNode(dot, function, id, dashed: false);
            dot.Append(CultureInfo.InvariantCulture, $"    {Quote(parentId)} -> {Quote(id)};\n");
            if (function is PciEndpoint endpoint)
            {
                foreach (PciEndpoint vf in endpoint.VirtualFunctions)
                {
                    string vfId = FunctionId(vf);
                    WriteNode(dot, vf, vfId, dashed: true);
                    dot.Append(CultureInfo.InvariantCulture, $"    {Quote(id)} -> {Quote(vfId)} [style=dashed];\n");
                }
            }
            else if (function is PciBridge bridge)
            {
                WriteBus(dot, bridge.SecondaryBus, id);
            }
        }
    }

    private static void WriteNode(StringBuilder dot, PciFunction function, string id, bool dashed)
    {
        var label = new StringBuilder();
        label.Append(function.Name).Append('\n').Append(function.Address).Append('\n').Append(KindText(function));
        if (function.AcsCapabilityOffset != 0)
        {
            label.Append("\nACS ").Append(AcsText(function.AcsControl));
        }

        string style = function is PciBridge ? string.Empty : dashed ? ", style=\"rounded,dashed\"" : ", style=rounded";
        dot.Append(CultureInfo.InvariantCulture, $"    {Quote(id)} [label={Quote(label.ToString())}{style}];\n");
    }

    private static string HostBridgeId(HostBridge hb) => string.Create(CultureInfo.InvariantCulture, $"hb:{hb.Index}");

    private static string FunctionId(PciFunction function) => "fn:" + function.Address;

    private static string KindText(PciFunction function) =>
        function is PciEndpoint { IsVirtualFunction: true } ? function.KindName + " VF" : function.KindName;

    private static string AcsText(AcsFlags control)
    {
        if (control == AcsFlags.None)
        {
            return "none";
        }

        var text = new StringBuilder();
        foreach ((AcsFlags flag, string mnemonic) in s_acsBits)
        {
            if ((control & flag) != 0)
            {
                text.Append(text.Length == 0 ? string.Empty : " ").Append(mnemonic);
            }
        }

        return text.ToString();
    }

    private static string IommuText(IommuMode mode) => mode switch
    {
        IommuMode.Off => "off",
        IommuMode.Passthrough => "passthrough",
        IommuMode.Translate => "translate",
        _ => mode.ToString(),
    };
}
