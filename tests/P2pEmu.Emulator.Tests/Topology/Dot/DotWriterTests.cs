using System;
using System.Diagnostics;
using System.Linq;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Tests.Topology.Lspci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Emulator.Topology.Dot;
using Xunit;

namespace P2pEmu.Emulator.Tests.Topology.Dot;

/// <summary>The Graphviz picture of a fabric: nodes, labels, tree edges, VFs, ACS, and DOT escaping.</summary>
public sealed class DotWriterTests : IDisposable
{
    private readonly PcieFabric _fabric = FabricBuilder.Build(DumpSamples.Machine());
    private readonly string[] _lines;

    public DotWriterTests()
    {
        _lines = DotWriter.Write(_fabric).Split('\n');
    }

    public void Dispose() => _fabric.Dispose();

    [Fact]
    public void Write_Fabric_IsOneDigraphWithANodePerHostBridgeAndFunction()
    {
        Assert.Equal("digraph \"pcie\" {", _lines[0]);
        Assert.Equal(["}", string.Empty], _lines[^2..]);
        Assert.Equal(_fabric.HostBridges.Count + _fabric.Functions.Count, _lines.Count(l => l.Contains(" [label=", StringComparison.Ordinal) || l.Contains(", label=", StringComparison.Ordinal)));
    }

    [Fact]
    public void Write_HostBridge_LabelsNameSegmentBusIommuAndRootComplexP2p()
    {
        Assert.Contains("    \"hb:0\" [shape=box3d, label=\"hb0\\n0000:00\\niommu translate\\nrootComplexP2p true\"];", _lines);
        Assert.Contains("    \"hb:1\" [shape=box3d, label=\"hb1\\n0001:40\\niommu off\\nrootComplexP2p false\"];", _lines);
    }

    [Fact]
    public void Write_Functions_LabelNameAddressAndKind()
    {
        Assert.Contains(Node(_fabric["nvme0"]) + " [label=\"nvme0\\n0000:03:00.0\\nnvme\", style=rounded];", _lines);
        Assert.Contains(Node(_fabric["rp1"]) + " [label=\"rp1\\n0000:00:01.0\\nroot-port\"];", _lines);
        Assert.Contains(Node(_fabric["sw0.up"]) + " [label=\"sw0.up\\n0000:01:00.0\\nswitch upstream port\"];", _lines);
        Assert.Contains(Node(_fabric["hostdev"]) + " [label=\"hostdev\\n0000:00:00.0\\nhost-bridge\", style=rounded];", _lines);
    }

    [Fact]
    public void Write_Edges_FollowTheBusTree()
    {
        string[] edges = _lines.Where(l => l.Contains(" -> ", StringComparison.Ordinal)).ToArray();

        Assert.Equal(_fabric.Functions.Count, edges.Length);
        foreach (PciFunction function in _fabric.Functions)
        {
            string parent = function switch
            {
                PciEndpoint { IsVirtualFunction: true } vf => Node(vf.PhysicalFunction),
                _ => function.Bus.Self is PciBridge bridge ? Node(bridge) : $"    \"hb:{function.HostBridge.Index}\"",
            };

            Assert.Contains(edges, e => e.StartsWith(parent + " -> " + Node(function).TrimStart(), StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Write_Vfs_AreDashedNodesUnderTheirPf()
    {
        PciFunction vf = _fabric["rciep0.vf2"];

        Assert.Contains(Node(vf) + " [label=\"rciep0.vf2\\n0000:00:04.3\\nendpoint VF\", style=\"rounded,dashed\"];", _lines);
        Assert.Contains(Node(_fabric["rciep0"]) + " -> " + Node(vf).TrimStart() + " [style=dashed];", _lines);
        Assert.Equal(2, _lines.Count(l => l.Contains("style=\"rounded,dashed\"", StringComparison.Ordinal)));
    }

    [Fact]
    public void Write_AcsControl_ShownAsMnemonicsOnlyWhereTheCapabilityIs()
    {
        Assert.Contains(Node(_fabric["sw0.dp0"]) + " [label=\"sw0.dp0\\n0000:02:00.0\\nswitch downstream port\\nACS RR CR\"];", _lines);
        Assert.Contains(_lines, l => l.StartsWith(Node(_fabric["rp2"]) + " [label=", StringComparison.Ordinal) && l.Contains("\\nACS SV EC\"", StringComparison.Ordinal));
        Assert.Equal(2, _lines.Count(l => l.Contains("\\nACS ", StringComparison.Ordinal)));
    }

    [Fact]
    public void Write_AcsCapabilityWithNoControlBits_SaysNone()
    {
        TopologyDescription topology = DumpSamples.Machine();
        HostBridgeDescription hb = topology.HostBridges[0];
        DeviceDescription rp2 = hb.Devices[2] with { Acs = new AcsDescription(AcsFlags.All, AcsFlags.None, 0) };
        using PcieFabric fabric = FabricBuilder.Build(topology with { HostBridges = [hb with { Devices = [.. hb.Devices.Take(2), rp2, hb.Devices[3]] }] });

        Assert.Contains("\\nroot-port\\nACS none\"", DotWriter.Write(fabric), StringComparison.Ordinal);
    }

    [Fact]
    public void Write_NamesWithQuotesAndBackslashes_AreEscaped()
    {
        using PcieFabric fabric = NastyNames();

        string dot = DotWriter.Write(fabric);

        Assert.Contains("[shape=box3d, label=\"hb \\\"main\\\"\\n0000:00\\n", dot, StringComparison.Ordinal);
        Assert.Contains("[label=\"ep \\\\ \\\"x\\\"\\nline2\\n0000:00:01.0\\nendpoint\", style=rounded];", dot, StringComparison.Ordinal);
    }

    [DotFact]
    public void Dot_RendersTheGraphWithEveryNodeAndEdge()
    {
        string plain = RunDot(DotWriter.Write(_fabric));

        string[] lines = plain.Split('\n');
        Assert.Equal(_fabric.HostBridges.Count + _fabric.Functions.Count, lines.Count(l => l.StartsWith("node ", StringComparison.Ordinal)));
        Assert.Equal(_fabric.Functions.Count, lines.Count(l => l.StartsWith("edge ", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.StartsWith("node \"fn:0000:00:04.2\" ", StringComparison.Ordinal) && l.Contains(" rounded,dashed box ", StringComparison.Ordinal));
    }

    [DotFact]
    public void Dot_AcceptsEscapedNames()
    {
        using PcieFabric fabric = NastyNames();

        string plain = RunDot(DotWriter.Write(fabric));

        Assert.Contains("node \"fn:0000:00:01.0\" ", plain, StringComparison.Ordinal);
        Assert.Contains("\"ep \\\\ \\\"x\\\"\\nline2\\n0000:00:01.0\\nendpoint\"", plain, StringComparison.Ordinal);
    }

    private static PcieFabric NastyNames()
    {
        var ep = new DeviceDescription("ep \\ \"x\"\nline2", DeviceKind.Endpoint, "$.ep") { Slot = new PciSlot(1, 0) };
        var hb = new HostBridgeDescription("hb \"main\"", 0, 0, IommuMode.Off, false, [ep], "$.hostBridges[0]");
        return FabricBuilder.Build(new TopologyDescription(PlatformDescription.Default with { RamBytes = 16UL << 20 }, [hb]));
    }

    private static string Node(PciFunction function) => $"    \"fn:{function.Address}\"";

    private static string RunDot(string graph)
    {
        var start = new ProcessStartInfo(DotFactAttribute.Find()!, "-Tplain")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using Process dot = Process.Start(start)!;
        System.Threading.Tasks.Task<string> error = dot.StandardError.ReadToEndAsync();
        dot.StandardInput.Write(graph);
        dot.StandardInput.Close();
        string output = dot.StandardOutput.ReadToEnd();
        dot.WaitForExit();
        Assert.True(dot.ExitCode == 0, $"dot exited with {dot.ExitCode}: {error.Result}");
        Assert.Equal(string.Empty, error.Result);
        return output;
    }
}
