using System;
using System.Collections.Generic;
using System.Linq;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Dma.Tests.P2pDma;

public sealed class DistanceTests
{
    /// <summary>S plus C under a second root port: A 03:00.0, B 04:00.0 share the switch; C 06:00.0 does not.</summary>
    private static PcieFabric Build(ushort hostDevice = SpecTopologies.IntelUnlisted, AcsDescription? dsp1 = null)
    {
        DeviceDescription sw = Topo.Switch("sw", Topo.Port("dsp0", Topo.Endpoint("A", 4 * Topo.MiB)), Topo.Port("dsp1", dsp1!, Topo.Endpoint("B", 4 * Topo.MiB)));
        return FabricBuilder.Build(Topo.Machine(Topo.HostBridge("hb0", Topo.HostDevice(0x8086, hostDevice),
            Topo.RootPort("rp0", sw), Topo.RootPort("rp1", Topo.Endpoint("C", 4 * Topo.MiB)))));
    }

    private static P2pProvider InitProvider(P2pDmaHost host, PciFunction pdev)
    {
        Assert.Equal(Errno.None, host.PcimP2pdmaInit(pdev));
        return host.PcimP2pdmaProvider(pdev, 0)!;
    }

    [Fact]
    public void MapType_IsCached_AndKeepsTheStaleValueAfterAcsChanges_UntilDistanceManyRecomputes()
    {
        using PcieFabric fabric = Build(dsp1: Topo.Acs(AcsFlags.None));
        var host = new P2pDmaHost(fabric);
        P2pProvider provider = InitProvider(host, fabric["A"]);
        var client = Device.ForPci(fabric["B"]);
        Assert.Equal(PciP2pdmaMapType.BusAddr, host.PciP2pdmaMapTypeOf(provider, client));
        Assert.Equal(1, host.GetP2pdma(fabric["A"])!.CachedMapTypes);

        PciFunction port = fabric["dsp1"];
        port.Config.Write16(port.AcsCapabilityOffset + AcsConfig.Control, (ushort)SpecTopologies.Linux);

        Assert.Equal(PciP2pdmaMapType.BusAddr, host.PciP2pdmaMapTypeOf(provider, client));
        Assert.Equal(PciP2pdmaMapType.NotSupported, host.Explain(fabric["A"], fabric["B"]).MapType);
        Assert.Equal(-1, host.PciP2pdmaDistanceMany(fabric["A"], new[] { client }, verbose: false));
        Assert.Equal(PciP2pdmaMapType.NotSupported, host.PciP2pdmaMapTypeOf(provider, client));
    }

    [Fact]
    public void MapType_WithoutProviderState_OrForANonPciDevice_IsNotSupported_WithoutAParentWalk()
    {
        using PcieFabric fabric = Build();
        var host = new P2pDmaHost(fabric);
        var bare = Device.ForPci(fabric["B"]);
        P2pProvider provider = InitProvider(host, fabric["A"]);
        var blockDevice = new Device("nvme0n1", Device.ForPci(fabric["B"]));

        Assert.Equal(PciP2pdmaMapType.NotSupported, host.PciP2pdmaMapTypeOf(provider, blockDevice));
        Assert.Equal(PciP2pdmaMapType.BusAddr, host.PciP2pdmaMapTypeOf(provider, bare));

        var other = new P2pDmaHost(fabric);
        Assert.Equal(PciP2pdmaMapType.NotSupported, other.PciP2pdmaMapTypeOf(provider, bare));
    }

    [Fact]
    public void MapType_FirstLookupComputesVerbosely_AndStoresUnderTheClientsDomainBusDevfn()
    {
        using PcieFabric fabric = Build();
        var host = new P2pDmaHost(fabric);
        P2pProvider provider = InitProvider(host, fabric["A"]);

        Assert.Equal(PciP2pdmaMapType.NotSupported, host.PciP2pdmaMapTypeOf(provider, Device.ForPci(fabric["C"])));

        Assert.Equal("05:00.0", fabric["C"].Bdf.ToString());
        Assert.Equal(0x0500, P2pDmaHost.MapTypesIndex(fabric["C"]));
        Assert.True(host.GetP2pdma(fabric["A"])!.MapTypes.TryGetValue(0x0500, out PciP2pdmaMapType cached));
        Assert.Equal(PciP2pdmaMapType.NotSupported, cached);
        Assert.Single(host.KernelLog, l => l.StartsWith("pci 0000:05:00.0: cannot be used for peer-to-peer DMA", StringComparison.Ordinal));
    }

    [Fact]
    public void DistanceMany_SumsDistances_UsesTheNearestPciAncestor_AndFailsOnNoClientsOrNonPci()
    {
        using PcieFabric fabric = Build(hostDevice: 0x2020);
        var host = new P2pDmaHost(fabric);
        var blockDevice = new Device("nvme0n1", new Device("nvme0", Device.ForPci(fabric["B"])));

        Assert.Equal(4 + 0 + 6, host.PciP2pdmaDistanceMany(fabric["A"], new[] { blockDevice, Device.ForPci(fabric["A"]), Device.ForPci(fabric["C"]) }, verbose: false));
        Assert.Equal(-1, host.PciP2pdmaDistanceMany(fabric["A"], Array.Empty<Device>(), verbose: false));
        Assert.Equal(-1, host.PciP2pdmaDistanceMany(fabric["A"], new[] { Device.ForPci(fabric["B"]), new Device("platform-dma") }, verbose: true));
        Assert.Contains("platform-dma: cannot be used for peer-to-peer DMA as it is not a PCI device", host.KernelLog);
    }

    [Fact]
    public void DistanceMany_NonVerboseStopsAtTheFirstUnsupportedClient_VerboseCachesThemAll()
    {
        using PcieFabric fabric = Build();
        var host = new P2pDmaHost(fabric);
        InitProvider(host, fabric["A"]);
        PciP2pdma state = host.GetP2pdma(fabric["A"])!;
        Device[] clients = { Device.ForPci(fabric["C"]), Device.ForPci(fabric["B"]) };

        Assert.Equal(-1, host.PciP2pdmaDistanceMany(fabric["A"], clients, verbose: false));
        Assert.Equal(1, state.CachedMapTypes);
        Assert.Empty(host.KernelLog);

        Assert.Equal(-1, host.PciP2pdmaDistanceMany(fabric["A"], clients, verbose: true));
        Assert.Equal(2, state.CachedMapTypes);
        Assert.NotEmpty(host.KernelLog);
    }

    [Fact]
    public void FindMany_ReturnsOnlyPublishedProvidersAtTheMinimumDistance_ChoosingUniformly()
    {
        DeviceDescription sw = Topo.Switch("sw",
            Topo.Port("d0", Topo.Endpoint("client", 4 * Topo.MiB)),
            Topo.Port("d1", Topo.Endpoint("near1", 4 * Topo.MiB)),
            Topo.Port("d2", Topo.Endpoint("near2", 4 * Topo.MiB)),
            Topo.Port("d3", Topo.Endpoint("unpublished", 4 * Topo.MiB)));
        using PcieFabric fabric = FabricBuilder.Build(Topo.Machine(Topo.HostBridge("hb0", Topo.HostDevice(0x8086, 0x2020),
            Topo.RootPort("rp0", sw), Topo.RootPort("rp1", Topo.Endpoint("far", 4 * Topo.MiB)))));
        var host = new P2pDmaHost(fabric, new P2pDmaOptions { RandomSeed = 7 });
        Device[] clients = { Device.ForPci(fabric["client"]) };
        Assert.Null(host.PciP2pmemFindMany(clients));

        foreach (string name in new[] { "near1", "near2", "unpublished", "far" })
        {
            Assert.Equal(Errno.None, host.PciP2pdmaAddResource(fabric[name], 0, 0, 0));
            if (name != "unpublished")
            {
                Assert.Equal(Errno.None, host.PciP2pmemPublish(fabric[name], true));
            }
        }

        var chosen = new Dictionary<string, int>();
        for (int i = 0; i < 400; i++)
        {
            string name = host.PciP2pmemFindMany(clients)!.Name;
            chosen[name] = chosen.GetValueOrDefault(name) + 1;
        }

        Assert.Equal(new[] { "near1", "near2" }, chosen.Keys.Order());
        Assert.InRange(chosen["near1"], 150, 250);
        Assert.Equal(-1, host.PciP2pdmaDistanceMany(fabric["far"], new[] { Device.ForPci(fabric["client"]), new Device("x") }, verbose: false));
        Assert.Null(host.PciP2pmemFindMany(new[] { new Device("not-pci") }));
        Assert.Null(host.PciP2pmemFindMany(Array.Empty<Device>()));
    }
}
