using System.Collections.Generic;
using System.Linq;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Dma.Tests.P2pDma;

/// <summary>Properties that hold for every topology, checked on seeded random ones.</summary>
public sealed class MapTypePropertyTests
{
    public static TheoryData<int> Seeds => new() { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

    private static List<PciEndpoint> Endpoints(PcieFabric fabric) =>
        fabric.Functions.OfType<PciEndpoint>().Where(e => e.Kind != DeviceKind.HostBridge).ToList();

    [Theory]
    [MemberData(nameof(Seeds))]
    public void WithoutAcs_BusAddrIsSymmetric_AndPathDistanceAlwaysIs(int seed)
    {
        using PcieFabric fabric = FabricBuilder.Build(RandomTopology.Generate(seed, RandomTopology.AcsStyle.None));
        var host = new P2pDmaHost(fabric);
        List<PciEndpoint> endpoints = Endpoints(fabric);

        foreach (PciEndpoint p in endpoints)
        {
            foreach (PciEndpoint c in endpoints)
            {
                P2pVerdict forward = host.Explain(p, c);
                P2pVerdict backward = host.Explain(c, p);
                Assert.Equal(forward.PathDistance, backward.PathDistance);
                Assert.Equal(forward.MapType == PciP2pdmaMapType.BusAddr, backward.MapType == PciP2pdmaMapType.BusAddr);
                Assert.Empty(forward.RedirectingDevices);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void DeviceWithItself_IsDistanceZero_AndBusAddrUnlessItsOwnAcsRedirects(int seed)
    {
        using PcieFabric fabric = FabricBuilder.Build(RandomTopology.Generate(seed, RandomTopology.AcsStyle.Any));
        var host = new P2pDmaHost(fabric);

        foreach (PciEndpoint e in Endpoints(fabric))
        {
            P2pVerdict self = host.Explain(e, e);
            Assert.Equal(0, self.PathDistance);
            Assert.Same(e, self.CommonUpstream);
            Assert.Equal(P2pDmaHost.HasAcsRedirect(e) ? PciP2pdmaMapType.NotSupported : PciP2pdmaMapType.BusAddr, self.MapType);
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void AddingARedirect_NeverTurnsAPairIntoBusAddr_NorChangesDistances(int seed)
    {
        using PcieFabric fabric = FabricBuilder.Build(RandomTopology.Generate(seed, RandomTopology.AcsStyle.Any));
        var host = new P2pDmaHost(fabric);
        List<PciEndpoint> endpoints = Endpoints(fabric);
        var before = endpoints.SelectMany(p => endpoints.Select(c => host.Explain(p, c))).ToList();

        foreach (PciFunction port in fabric.Functions.Where(f => f.AcsCapabilityOffset != 0))
        {
            ushort control = port.Config.Read16(port.AcsCapabilityOffset + AcsConfig.Control);
            port.Config.Write16(port.AcsCapabilityOffset + AcsConfig.Control, (ushort)(control | (ushort)AcsFlags.RR));
        }

        var after = endpoints.SelectMany(p => endpoints.Select(c => host.Explain(p, c))).ToList();
        for (int i = 0; i < before.Count; i++)
        {
            Assert.Equal(before[i].PathDistance, after[i].PathDistance);
            if (before[i].MapType != PciP2pdmaMapType.BusAddr)
            {
                Assert.NotEqual(PciP2pdmaMapType.BusAddr, after[i].MapType);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void AmdZen_NeverAnswersNotSupported(int seed)
    {
        using PcieFabric fabric = FabricBuilder.Build(RandomTopology.Generate(seed, RandomTopology.AcsStyle.Any, CpuVendor.Amd));
        var host = new P2pDmaHost(fabric);
        List<PciEndpoint> endpoints = Endpoints(fabric);

        Assert.All(endpoints.SelectMany(p => endpoints.Select(c => host.Explain(p, c))), v => Assert.NotEqual(PciP2pdmaMapType.NotSupported, v.MapType));
    }
}
