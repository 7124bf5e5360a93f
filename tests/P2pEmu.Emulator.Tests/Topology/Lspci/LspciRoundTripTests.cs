using System;
using System.Collections.Generic;
using System.Linq;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology.Lspci;
using Xunit;

namespace P2pEmu.Emulator.Tests.Topology.Lspci;

/// <summary>Writer → reader → builder: the rebuilt machine has the same functions where the original had them.</summary>
public sealed class LspciRoundTripTests : IDisposable
{
    private readonly PcieFabric _original;
    private readonly PcieFabric _rebuilt;
    private readonly Dictionary<string, PciFunction> _rebuiltByAddress;

    public LspciRoundTripTests()
    {
        _original = FabricBuilder.Build(DumpSamples.Machine());
        _rebuilt = FabricBuilder.Build(LspciDumpReader.Parse(LspciDumpWriter.Write(_original)));
        _rebuiltByAddress = _rebuilt.Functions.ToDictionary(f => f.Address, StringComparer.Ordinal);
    }

    public void Dispose()
    {
        _original.Dispose();
        _rebuilt.Dispose();
    }

    [Fact]
    public void RoundTrip_EveryFunction_KeepsItsAddress()
    {
        string[] original = _original.Functions.Select(f => f.Address).Order(StringComparer.Ordinal).ToArray();
        string[] rebuilt = _rebuilt.Functions.Select(f => f.Address).Order(StringComparer.Ordinal).ToArray();

        Assert.Equal(original, rebuilt);
    }

    [Fact]
    public void RoundTrip_EveryFunction_KeepsIdsClassHeaderTypeAndPortType()
    {
        foreach (PciFunction function in _original.Functions)
        {
            PciFunction copy = _rebuiltByAddress[function.Address];

            Assert.Equal(function.Config.Bytes[..4].ToArray(), copy.Config.Bytes[..4].ToArray());
            Assert.Equal(function.Config.Bytes[PciConfig.ClassProg..(PciConfig.ClassDevice + 2)].ToArray(), copy.Config.Bytes[PciConfig.ClassProg..(PciConfig.ClassDevice + 2)].ToArray());
            Assert.Equal(function.Config.Read8(PciConfig.HeaderType) & 0x7F, copy.Config.Read8(PciConfig.HeaderType) & 0x7F);
            Assert.Equal(function.PortType, copy.PortType);
        }
    }

    [Fact]
    public void RoundTrip_Bridges_HaveByteIdenticalIdentityAndBusNumbers()
    {
        PciBridge[] bridges = _original.Functions.OfType<PciBridge>().ToArray();

        Assert.Equal(6, bridges.Length);
        foreach (PciBridge bridge in bridges)
        {
            var copy = Assert.IsType<PciBridge>(_rebuiltByAddress[bridge.Address]);

            // Vendor, device, command-independent identity: IDs, revision, class, header type, bus numbers.
            Assert.Equal(bridge.Config.Bytes[..4].ToArray(), copy.Config.Bytes[..4].ToArray());
            Assert.Equal(bridge.Config.Bytes[PciConfig.RevisionId..(PciConfig.ClassDevice + 2)].ToArray(), copy.Config.Bytes[PciConfig.RevisionId..(PciConfig.ClassDevice + 2)].ToArray());
            Assert.Equal(bridge.Config.Read8(PciConfig.HeaderType), copy.Config.Read8(PciConfig.HeaderType));
            Assert.Equal(bridge.Config.Bytes[PciConfig.PrimaryBus..(PciConfig.SubordinateBus + 1)].ToArray(), copy.Config.Bytes[PciConfig.PrimaryBus..(PciConfig.SubordinateBus + 1)].ToArray());
        }
    }

    [Fact]
    public void RoundTrip_Acs_KeepsCapabilityControlAndEgressVector()
    {
        Assert.Equal(2, _original.Functions.Count(f => f.AcsCapabilityOffset != 0));
        foreach (PciFunction function in _original.Functions)
        {
            PciFunction copy = _rebuiltByAddress[function.Address];

            Assert.Equal(function.AcsCapabilityOffset != 0, copy.AcsCapabilityOffset != 0);
            Assert.Equal(function.AcsCapability, copy.AcsCapability);
            Assert.Equal(function.AcsControl, copy.AcsControl);
            Assert.Equal(function.AcsEgressVector, copy.AcsEgressVector);
        }
    }

    [Fact]
    public void RoundTrip_Pfs_KeepTheirVfCount()
    {
        foreach (PciEndpoint endpoint in _original.Functions.OfType<PciEndpoint>())
        {
            var copy = (PciEndpoint)_rebuiltByAddress[endpoint.Address];

            Assert.Equal(endpoint.IsVirtualFunction, copy.IsVirtualFunction);
            Assert.Equal(endpoint.VirtualFunctions.Count, copy.VirtualFunctions.Count);
        }

        Assert.Equal(2, ((PciEndpoint)_rebuiltByAddress[_original["rciep0"].Address]).VirtualFunctions.Count);
    }

    [Fact]
    public void RoundTrip_HostBridges_KeepSegmentAndRootBus()
    {
        (int, int)[] original = _original.HostBridges.Select(hb => (hb.Segment, hb.RootBus.Number)).ToArray();
        (int, int)[] rebuilt = _rebuilt.HostBridges.Select(hb => (hb.Segment, hb.RootBus.Number)).ToArray();

        Assert.Equal(original, rebuilt);
        Assert.Equal(["hb0000:00", "hb0001:40"], _rebuilt.HostBridges.Select(hb => hb.Name).ToArray());
    }

    [Fact]
    public void RoundTrip_Endpoints_KeepBarIndexesAndTypes()
    {
        foreach (PciEndpoint endpoint in _original.Functions.OfType<PciEndpoint>())
        {
            var copy = (PciEndpoint)_rebuiltByAddress[endpoint.Address];

            Assert.Equal(
                endpoint.Bars.Select(b => (b.Index, b.Is64Bit, b.Prefetchable)).ToArray(),
                copy.Bars.Select(b => (b.Index, b.Is64Bit, b.Prefetchable)).ToArray());
        }
    }

    [Fact]
    public void RoundTrip_FunctionsAreNamedByAddress()
    {
        Assert.Equal(_original["nvme0"].Address, _rebuilt[_original["nvme0"].Address].Name);
        Assert.Equal(_original["rciep0.vf2"].Address, _rebuilt[_original["rciep0"].Address + ".vf2"].Address);
    }
}
