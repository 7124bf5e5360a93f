using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Dma.Tests.Block;

/// <summary>A fabric with two 4 MiB p2pmem providers (p0, p1) for block-layer tests.</summary>
internal static class BlockTestbed
{
    public static (PcieFabric Fabric, P2pDmaHost P2p) Build()
    {
        PcieFabric fabric = FabricBuilder.Build(Topo.Machine(Topo.HostBridge("hb0", 0, 0, true, Topo.HostDevice(),
            Topo.RootPort("rp0", Topo.Endpoint("p0", 4 * Topo.MiB)), Topo.RootPort("rp1", Topo.Endpoint("p1", 4 * Topo.MiB)))));
        var p2p = new P2pDmaHost(fabric);
        Assert.Equal(Errno.None, p2p.PciP2pdmaAddResource(fabric["p0"], 0, 0, 0));
        Assert.Equal(Errno.None, p2p.PciP2pdmaAddResource(fabric["p1"], 0, 0, 0));
        return (fabric, p2p);
    }

    public static ulong Bar(PcieFabric fabric, string name) => ((PciEndpoint)fabric[name]).Bars[0].Address;
}
