using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Tests.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Emulator.Topology.Lspci;
using Xunit;

namespace P2pEmu.Emulator.Tests.Topology.Lspci;

/// <summary>
/// The real <c>lspci -F</c> (pciutils) reads the writer's dump: the tree it draws and what <c>-vvv</c>
/// decodes match the fabric. Expectations are computed from the fabric, never pasted from lspci.
/// </summary>
public sealed class LspciCompatibilityTests : IDisposable
{
    private readonly PcieFabric _fabric = FabricBuilder.Build(DumpSamples.Machine());
    private readonly string _dump;

    public LspciCompatibilityTests()
    {
        _dump = LspciDumpWriter.Write(_fabric);
    }

    public void Dispose() => _fabric.Dispose();

    [LspciFact]
    public void Tree_WrittenDump_DrawsTheFabricsHierarchy()
    {
        string tree = LspciTool.Run(_dump, "-t");

        Assert.Equal(LspciTreeExpectation.For(_fabric), tree);
        Assert.Contains("+-01.0-[01-04]----00.0-[02-04]--+-00.0-[03]----00.0", tree, StringComparison.Ordinal);
    }

    [LspciFact]
    public void Verbose_WrittenDump_DecodesVendorAndDeviceIds()
    {
        Dictionary<string, string> blocks = VerboseBlocks();

        Assert.Equal(_fabric.Functions.Select(f => f.Address).Order(StringComparer.Ordinal), blocks.Keys.Order(StringComparer.Ordinal));
        foreach (PciFunction function in _fabric.Functions)
        {
            string header = blocks[function.Address].Split('\n')[0];
            string ids = string.Create(CultureInfo.InvariantCulture, $"[{function.Config.Read16(PciConfig.VendorId):x4}:{function.Config.Read16(PciConfig.DeviceId):x4}]");
            string classCode = string.Create(CultureInfo.InvariantCulture, $"[{function.Config.Read16(PciConfig.ClassDevice):x4}]");

            Assert.Contains(ids, header, StringComparison.Ordinal);
            Assert.Contains(classCode, header, StringComparison.Ordinal);
        }
    }

    [LspciFact]
    public void Verbose_WrittenDump_DecodesBridgeBusNumbersAndWindows()
    {
        Dictionary<string, string> blocks = VerboseBlocks();

        foreach (PciBridge bridge in _fabric.Functions.OfType<PciBridge>())
        {
            string block = blocks[bridge.Address];

            Assert.Contains(
                string.Create(CultureInfo.InvariantCulture, $"Bus: primary={bridge.PrimaryBusNumber:x2}, secondary={bridge.SecondaryBusNumber:x2}, subordinate={bridge.SubordinateBusNumber:x2},"),
                block,
                StringComparison.Ordinal);
            Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"Memory behind bridge: {bridge.MemoryBase:x8}-{bridge.MemoryLimit:x8}"), block, StringComparison.Ordinal);
            Assert.Contains(
                string.Create(CultureInfo.InvariantCulture, $"Prefetchable memory behind bridge: {bridge.PrefetchableBase:x16}-{bridge.PrefetchableLimit:x16}"),
                block,
                StringComparison.Ordinal);
        }

        Assert.Contains("Bus: primary=00, secondary=01, subordinate=04,", blocks[_fabric["rp1"].Address], StringComparison.Ordinal);
    }

    [LspciFact]
    public void Verbose_WrittenDump_DecodesBarAddresses()
    {
        Dictionary<string, string> blocks = VerboseBlocks();

        foreach (PciEndpoint endpoint in _fabric.Functions.OfType<PciEndpoint>().Where(e => !e.IsVirtualFunction))
        {
            foreach (PciBar bar in endpoint.Bars)
            {
                string expected = string.Create(
                    CultureInfo.InvariantCulture,
                    $"Region {bar.Index}: Memory at {bar.Address:x8} ({(bar.Is64Bit ? "64-bit" : "32-bit")}, {(bar.Prefetchable ? "prefetchable" : "non-prefetchable")})");

                Assert.Contains(expected, blocks[endpoint.Address], StringComparison.Ordinal);
            }
        }
    }

    [LspciFact]
    public void Verbose_WrittenDump_DecodesPciExpressPortTypes()
    {
        Dictionary<string, string> blocks = VerboseBlocks();

        foreach (PciFunction function in _fabric.Functions)
        {
            string expected = function.PortType switch
            {
                PciExpressPortType.RootPort => "Express (v2) Root Port",
                PciExpressPortType.UpstreamPort => "Express (v2) Upstream Port",
                PciExpressPortType.DownstreamPort => "Express (v2) Downstream Port",
                PciExpressPortType.Endpoint => "Express (v2) Endpoint",
                PciExpressPortType.RootComplexIntegratedEndpoint => "Express (v2) Root Complex Integrated Endpoint",
                _ => throw new InvalidOperationException($"{function} has port type {function.PortType}"),
            };

            Assert.Contains(expected, blocks[function.Address], StringComparison.Ordinal);
        }

        Assert.Contains("Express (v2) Downstream Port", blocks[_fabric["sw0.dp1"].Address], StringComparison.Ordinal);
    }

    [LspciFact]
    public void Verbose_WrittenDump_DecodesAcsCapabilityAndControl()
    {
        Dictionary<string, string> blocks = VerboseBlocks();

        foreach (PciFunction function in _fabric.Functions)
        {
            string block = blocks[function.Address];
            if (function.AcsCapabilityOffset == 0)
            {
                Assert.DoesNotContain("Access Control Services", block, StringComparison.Ordinal);
                continue;
            }

            Assert.Contains($"Capabilities: [{function.AcsCapabilityOffset:x3} v1] Access Control Services", block, StringComparison.Ordinal);
            Assert.Contains("ACSCap:\t" + AcsText(function.AcsCapability), block, StringComparison.Ordinal);
            Assert.Contains("ACSCtl:\t" + AcsText(function.AcsControl), block, StringComparison.Ordinal);
        }

        Assert.Contains(
            "ACSCtl:\tSrcValid- TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd- EgressCtrl- DirectTrans-",
            blocks[_fabric["sw0.dp0"].Address],
            StringComparison.Ordinal);
    }

    [LspciFact]
    public void Verbose_WrittenDump_DecodesSriovWithTheVfCount()
    {
        Dictionary<string, string> blocks = VerboseBlocks();

        foreach (PciEndpoint endpoint in _fabric.Functions.OfType<PciEndpoint>().Where(e => !e.IsVirtualFunction))
        {
            string block = blocks[endpoint.Address];
            if (endpoint.VirtualFunctions.Count == 0)
            {
                Assert.DoesNotContain("Single Root I/O Virtualization", block, StringComparison.Ordinal);
                continue;
            }

            Assert.Contains("Single Root I/O Virtualization (SR-IOV)", block, StringComparison.Ordinal);
            int vfs = endpoint.VirtualFunctions.Count;
            Assert.Contains($"Initial VFs: {vfs}, Total VFs: {vfs}, Number of VFs: {vfs},", block, StringComparison.Ordinal);
            int firstVfOffset = endpoint.VirtualFunctions[0].DevFn - endpoint.DevFn;
            Assert.Contains($"VF offset: {firstVfOffset}, stride: 1,", block, StringComparison.Ordinal);
        }

        Assert.Contains("Number of VFs: 2,", blocks[_fabric["rciep0"].Address], StringComparison.Ordinal);
    }

    [LspciFact]
    public void Verbose_WrittenDump_DecodesMsiXSizeTableAndPba_AndMessageControl()
    {
        var models = new MsiXTestModels(65, "nvme0");
        using PcieFabric fabric = FabricBuilder.Build(DumpSamples.Machine(), models);
        var nvme = (PciEndpoint)fabric["nvme0"];
        int cap = nvme.MsiXCapabilityOffset;
        (int tableBar, uint tableOffset) = nvme.MsiXTableLocation;
        (int pbaBar, uint pbaOffset) = nvme.MsiXPbaLocation;

        Dictionary<string, string> disabled = VerboseBlocks(LspciDumpWriter.Write(fabric));
        nvme.Config.Write16(cap + MsiXConfig.Flags, MsiXConfig.FlagsEnable | MsiXConfig.FlagsMaskAll);
        Dictionary<string, string> enabled = VerboseBlocks(LspciDumpWriter.Write(fabric));

        string block = disabled[nvme.Address];
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"Capabilities: [{cap:x2}] MSI-X: Enable- Count={nvme.MsiXTableSize} Masked-"), block, StringComparison.Ordinal);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"Vector table: BAR={tableBar} offset={tableOffset:x8}"), block, StringComparison.Ordinal);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"PBA: BAR={pbaBar} offset={pbaOffset:x8}"), block, StringComparison.Ordinal);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"MSI-X: Enable+ Count={nvme.MsiXTableSize} Masked+"), enabled[nvme.Address], StringComparison.Ordinal);
        Assert.Equal(65, nvme.MsiXTableSize);
        foreach (PciFunction function in fabric.Functions)
        {
            if (!ReferenceEquals(function, nvme))
            {
                Assert.DoesNotContain("MSI-X", disabled[function.Address], StringComparison.Ordinal);
            }
        }
    }

    [LspciFact]
    public void Tree_RealDesktopXxx_MatchesTheRebuiltFabric()
    {
        using PcieFabric rebuilt = FabricBuilder.Build(LspciDumpReader.Parse(DumpSamples.RealDesktopXxx));

        Assert.Equal(LspciTreeExpectation.For(rebuilt), LspciTool.Run(DumpSamples.RealDesktopXxx + "\n", "-t"));
    }

    private static string AcsText(AcsFlags flags) =>
        string.Join(' ', new[]
        {
            ("SrcValid", AcsFlags.SV), ("TransBlk", AcsFlags.TB), ("ReqRedir", AcsFlags.RR), ("CmpltRedir", AcsFlags.CR),
            ("UpstreamFwd", AcsFlags.UF), ("EgressCtrl", AcsFlags.EC), ("DirectTrans", AcsFlags.DT),
        }.Select(bit => bit.Item1 + ((flags & bit.Item2) != 0 ? "+" : "-")));

    /// <summary>lspci -D -nn -vvv output split into blocks keyed by address.</summary>
    private Dictionary<string, string> VerboseBlocks() => VerboseBlocks(_dump);

    private static Dictionary<string, string> VerboseBlocks(string dump) =>
        LspciTool.Run(dump, "-D", "-nn", "-vvv")
            .Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Where(block => block.Length > 12 && block[4] == ':')
            .ToDictionary(block => block[..block.IndexOf(' ', StringComparison.Ordinal)], StringComparer.Ordinal);
}
