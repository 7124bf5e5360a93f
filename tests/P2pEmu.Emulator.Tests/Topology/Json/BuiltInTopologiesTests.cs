using System;
using System.IO;
using System.Linq;
using P2pEmu.Emulator.Topology;
using P2pEmu.Emulator.Topology.Json;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Emulator.Tests.Topology.Json;

/// <summary>Tests for <see cref="BuiltInTopologies"/> and the examples/ folder it mirrors.</summary>
public sealed class BuiltInTopologiesTests
{
    [Fact]
    public void Names_ListsTheFourExamplesDefaultFirst()
    {
        Assert.Equal(["default", "switch-acs", "two-root-ports", "amd-multi-hb"], BuiltInTopologies.Names);
    }

    [Theory]
    [InlineData("default")]
    [InlineData("switch-acs")]
    [InlineData("two-root-ports")]
    [InlineData("amd-multi-hb")]
    public void ExampleFile_OnDisk_IsByteIdenticalToBuiltIn(string name)
    {
        string file = Path.Combine(RepositoryPaths.Root, "examples", name + ".jsonc");

        Assert.Equal(File.ReadAllBytes(file), System.Text.Encoding.UTF8.GetBytes(BuiltInTopologies.Get(name)));
    }

    [Fact]
    public void ExamplesFolder_HoldsOnlyBuiltInTopologies()
    {
        string[] files = Directory.GetFiles(Path.Combine(RepositoryPaths.Root, "examples"), "*.jsonc")
            .Select(Path.GetFileNameWithoutExtension)
            .Order(StringComparer.Ordinal)
            .ToArray()!;

        Assert.Equal(BuiltInTopologies.Names.Order(StringComparer.Ordinal), files);
    }

    [Fact]
    public void Default_IsTheDesignExampleWithTheRdmaDevicesTheTargetDriveAndTheRefusedHostBridgeAdded()
    {
        Assert.Same(BuiltInTopologies.Get("default"), BuiltInTopologies.Default);
        Assert.StartsWith("//", BuiltInTopologies.Default, StringComparison.Ordinal);
        string withoutRdma = BuiltInTopologies.Default
            .Replace(", \"link\": \"nic1\"", string.Empty, StringComparison.Ordinal);
        TopologyDescription design = TopologyJsonReader.Parse(TopologySamples.DesignExample);
        TopologyDescription defaults = TopologyJsonReader.Parse(withoutRdma);
        string[] designNames = Names(design);
        Assert.All(designNames, name => Assert.Contains(name, Names(defaults)));
        Assert.Equal(["accel0", "hostdev1", "nic1", "nvme1", "nvme2", "nvme3", "rp2", "rp3", "rp4", "sw0.dp2", "sw1", "sw1.dp0", "sw1.dp1"], Names(defaults).Except(designNames).Order(StringComparer.Ordinal));
    }

    private static string[] Names(TopologyDescription topology)
    {
        var names = new System.Collections.Generic.List<string>();
        void Walk(DeviceDescription d)
        {
            names.Add(d.Name);
            foreach (PortDescription port in d.Ports)
            {
                names.Add(port.Name);
                foreach (DeviceDescription child in port.Children)
                {
                    Walk(child);
                }
            }

            foreach (DeviceDescription child in d.Children.Concat(d.Functions))
            {
                Walk(child);
            }
        }

        foreach (DeviceDescription device in topology.HostBridges.SelectMany(hb => hb.Devices))
        {
            Walk(device);
        }

        return names.ToArray();
    }

    [Fact]
    public void Default_ParsesToTheDefaultRecords()
    {
        TopologyDescription topology = TopologyJsonReader.Parse(BuiltInTopologies.Default);

        Assert.Equal(TopologyDump.Of(TopologySamples.DefaultRecords()), TopologyDump.Of(topology));
    }

    [Fact]
    public void SwitchAcs_DownstreamPortsRedirectAndIommuTranslates()
    {
        TopologyDescription topology = TopologyJsonReader.Parse(BuiltInTopologies.Get("switch-acs"));

        HostBridgeDescription hb = Assert.Single(topology.HostBridges);
        Assert.Equal(IommuMode.Translate, hb.Iommu);
        DeviceDescription rp = Assert.Single(hb.Devices, d => d.Kind == DeviceKind.RootPort);
        DeviceDescription sw = Assert.Single(rp.Children);
        Assert.Equal(DeviceKind.Switch, sw.Kind);
        Assert.Equal(2, sw.Ports.Count);
        Assert.All(sw.Ports, p => Assert.Equal(AcsFlags.RR | AcsFlags.CR, p.Acs!.Control));
        Assert.Equal(DeviceKind.Nvme, Assert.Single(sw.Ports[0].Children).Kind);
        Assert.Equal(DeviceKind.Nic, Assert.Single(sw.Ports[1].Children).Kind);
    }

    [Fact]
    public void TwoRootPorts_EachHasOneEndpointAndNoRootComplexP2p()
    {
        TopologyDescription topology = TopologyJsonReader.Parse(BuiltInTopologies.Get("two-root-ports"));

        HostBridgeDescription hb = Assert.Single(topology.HostBridges);
        Assert.False(hb.RootComplexP2p);
        DeviceDescription[] rootPorts = hb.Devices.Where(d => d.Kind == DeviceKind.RootPort).ToArray();
        Assert.Equal(2, rootPorts.Length);
        Assert.All(rootPorts, rp => Assert.Equal(DeviceKind.Endpoint, Assert.Single(rp.Children).Kind));
    }

    [Fact]
    public void AmdMultiHb_IsAmdFamily19WithTwoHostBridges()
    {
        TopologyDescription topology = TopologyJsonReader.Parse(BuiltInTopologies.Get("amd-multi-hb"));

        Assert.Equal(CpuVendor.Amd, topology.Platform.CpuVendor);
        Assert.Equal(0x19, topology.Platform.CpuFamily);
        Assert.Equal(2, topology.HostBridges.Count);
        Assert.NotEqual(topology.HostBridges[0].Bus, topology.HostBridges[1].Bus);
    }

    [Fact]
    public void Get_IsCaseInsensitive()
    {
        Assert.Same(BuiltInTopologies.Get("switch-acs"), BuiltInTopologies.Get("Switch-ACS"));
    }

    [Fact]
    public void Get_UnknownName_ThrowsListingNames()
    {
        ArgumentException ex = Assert.Throws<ArgumentException>(() => BuiltInTopologies.Get("nope"));

        Assert.Contains("'nope'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("two-root-ports", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryGet_UnknownName_ReturnsFalse()
    {
        Assert.False(BuiltInTopologies.TryGet("nope", out string? json));
        Assert.Null(json);
    }
}
