using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Dma.Tests.P2pDma;

public sealed class PageStateTests
{
    private static PcieFabric Build() => FabricBuilder.Build(Topo.Machine(Topo.HostBridge("hb0", Topo.HostDevice(0x8086, 0x2020),
        Topo.RootPort("rp0", Topo.Switch("sw", Topo.Port("d0", Topo.Endpoint("p0", 4 * Topo.MiB)), Topo.Port("d1", Topo.Endpoint("client", 4 * Topo.MiB)))),
        Topo.RootPort("rp1", Topo.Endpoint("p1", 4 * Topo.MiB)))));

    [Fact]
    public void P2pPages_AreThoseOfARegisteredRange_HostRamAndUnregisteredBarsAreNot()
    {
        using PcieFabric fabric = Build();
        var host = new P2pDmaHost(fabric);
        Assert.Equal(Errno.None, host.PciP2pdmaAddResource(fabric["p0"], 0, 2 * Topo.MiB, 2 * Topo.MiB));
        ulong bar = ((PciEndpoint)fabric["p0"]).Bars[0].Address;

        Assert.True(host.IsPciP2pdmaPage(bar + (2 * Topo.MiB)));
        Assert.True(host.IsPciP2pdmaPage(bar + (4 * Topo.MiB) - 1));
        Assert.False(host.IsPciP2pdmaPage(bar));
        Assert.False(host.IsPciP2pdmaPage(0x1000));
        Assert.Same(host.PcimP2pdmaProvider(fabric["p0"], 0), host.FindPagemap(bar + (3 * Topo.MiB))!.Provider);
    }

    [Fact]
    public void State_LooksUpEachProviderOnce_AndAnswersNoneForHostPages()
    {
        using PcieFabric fabric = Build();
        var host = new P2pDmaHost(fabric);
        Assert.Equal(Errno.None, host.PciP2pdmaAddResource(fabric["p0"], 0, 0, 0));
        Assert.Equal(Errno.None, host.PciP2pdmaAddResource(fabric["p1"], 0, 0, 0));
        var client = Device.ForPci(fabric["client"]);
        var state = new PciP2pdmaMapState();
        ulong p0 = ((PciEndpoint)fabric["p0"]).Bars[0].Address;
        ulong p1 = ((PciEndpoint)fabric["p1"]).Bars[0].Address;

        Assert.Equal(PciP2pdmaMapType.None, host.PciP2pdmaState(state, client, 0x2000));
        Assert.Null(state.Provider);
        Assert.Equal(PciP2pdmaMapType.BusAddr, host.PciP2pdmaState(state, client, p0 + 0x1000));
        Assert.Equal(PciP2pdmaMapType.ThruHostBridge, host.PciP2pdmaState(state, client, p1));
        Assert.Same(host.PcimP2pdmaProvider(fabric["p1"], 0), state.Provider);

        // The state answers for its remembered provider without a new lookup, as Linux's does.
        state.MapType = PciP2pdmaMapType.NotSupported;
        Assert.Equal(PciP2pdmaMapType.NotSupported, host.PciP2pdmaState(state, client, p1 + 0x1000));
        Assert.Equal(PciP2pdmaMapType.BusAddr, host.PciP2pdmaState(state, client, p0));
    }

    [Fact]
    public void BusAddrMap_AddsTheProvidersOffset()
    {
        using PcieFabric fabric = Build();
        var host = new P2pDmaHost(fabric);
        Assert.Equal(Errno.None, host.PcimP2pdmaInit(fabric["p0"]));
        P2pProvider provider = host.PcimP2pdmaProvider(fabric["p0"], 0)!;

        Assert.Equal(0UL, provider.BusOffset);
        Assert.Equal(0x8000_0000_1000UL, P2pDmaHost.PciP2pdmaBusAddrMap(provider, 0x8000_0000_1000));
    }
}
