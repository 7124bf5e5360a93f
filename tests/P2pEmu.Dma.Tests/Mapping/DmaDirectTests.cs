using System;
using System.Linq;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Dma.Tests.Mapping;

public sealed class DmaDirectTests
{
    /// <summary>client and p0 share a switch (BUS_ADDR); p1 is behind another root port (THRU when allow-listed).</summary>
    private static (PcieFabric Fabric, DmaApi Api, P2pDmaHost P2p) Build(ushort hostDevice = 0x2020)
    {
        TopologyDescription topology = Topo.Machine(Topo.HostBridge("hb0", 0, 0, true, Topo.HostDevice(0x8086, hostDevice),
            Topo.RootPort("rp0", Topo.Switch("sw", Topo.Port("d0", Topo.Endpoint("p0", 4 * Topo.MiB)), Topo.Port("d1", Topo.Endpoint("client", 4 * Topo.MiB)))),
            Topo.RootPort("rp1", Topo.Endpoint("p1", 4 * Topo.MiB))));
        PcieFabric fabric = FabricBuilder.Build(topology);
        var p2p = new P2pDmaHost(fabric);
        Assert.Equal(Errno.None, p2p.PciP2pdmaAddResource(fabric["p0"], 0, 0, 0));
        Assert.Equal(Errno.None, p2p.PciP2pdmaAddResource(fabric["p1"], 0, 0, 0));
        return (fabric, new DmaApi(fabric, p2p), p2p);
    }

    private static ulong Bar(PcieFabric fabric, string name) => ((PciEndpoint)fabric[name]).Bars[0].Address;

    [Fact]
    public void MapPhys_IsTheIdentityWithinTheMask_AndAMappingErrorBeyondIt()
    {
        (PcieFabric fabric, DmaApi api, _) = Build();
        using PcieFabric owned = fabric;
        DmaDevice dev = api.GetDevice(fabric["client"]);

        Assert.False(dev.UsesIommu);
        Assert.Equal(new DmaAddress(0x10_0000), api.DmaMapPhys(dev, new PhysAddress(0x10_0000), 4096, DmaDirection.ToDevice));
        dev.DmaMask = 0xFFFF_FFFF;
        Assert.True(DmaApi.IsMappingError(api.DmaMapPhys(dev, new PhysAddress(0xFFFF_F000), 0x2000, DmaDirection.ToDevice)));
        Assert.Equal(new DmaAddress(0xFFFF_F000), api.DmaMapPhys(dev, new PhysAddress(0xFFFF_F000), 0x1000, DmaDirection.ToDevice));
    }

    [Fact]
    public void MapSgtable_MixedTable_KeepsBusAddressesForBusAddrAndPhysForThruAndRam_AndTheDeviceMovesRealBytes()
    {
        (PcieFabric fabric, DmaApi api, P2pDmaHost p2p) = Build();
        using PcieFabric owned = fabric;
        DmaDevice dev = api.GetDevice(fabric["client"]);
        P2pMemory near = p2p.PciAllocP2pmem(fabric["p0"], 8192)!;
        P2pMemory far = p2p.PciAllocP2pmem(fabric["p1"], 4096)!;
        var table = new SgTable(new[]
        {
            new Scatterlist(new PhysAddress(0x20_0000), 4096),
            new Scatterlist(new PhysAddress(near.BusAddress), 8192),
            new Scatterlist(new PhysAddress(far.BusAddress), 4096),
        });

        Assert.Equal(Errno.None, api.DmaMapSgtable(dev, table, DmaDirection.FromDevice));

        Assert.Equal(3, table.Nents);
        Assert.Equal(new[] { false, true, false }, table.Entries.Select(e => e.IsBusAddress));
        Assert.Equal(new DmaAddress(near.BusAddress), table.Entries[1].DmaAddress);
        Assert.Equal(new DmaAddress(far.BusAddress), table.Entries[2].DmaAddress);

        byte[] data = new byte[16384];
        new Random(5).NextBytes(data);
        DmaResult written = new DmaPort(fabric, fabric["client"]).Write(table.DmaSegments().ToArray(), data);
        Assert.True(written.IsSuccess, written.ToString());
        Assert.Equal(data.AsSpan(0, 4096).ToArray(), fabric.Ram.Region.GetSpan(0x20_0000, 4096).ToArray());
        Assert.Equal(data.AsSpan(4096, 8192).ToArray(), ((PciEndpoint)fabric["p0"]).Bars[0].Memory!.GetSpan(near.BarOffset, 8192).ToArray());
        Assert.Equal(data.AsSpan(12288, 4096).ToArray(), ((PciEndpoint)fabric["p1"]).Bars[0].Memory!.GetSpan(far.BarOffset, 4096).ToArray());

        api.DmaUnmapSgtable(dev, table, DmaDirection.FromDevice);
        Assert.Equal(0, table.Nents);
        Assert.All(table.Entries, e => Assert.False(e.IsBusAddress));
    }

    [Fact]
    public void MapSgtable_UnreachableP2pSegment_FailsWithEremoteio_AndLeavesNothingMapped()
    {
        (PcieFabric fabric, DmaApi api, P2pDmaHost p2p) = Build(hostDevice: 0x29C0);
        using PcieFabric owned = fabric;
        DmaDevice dev = api.GetDevice(fabric["client"]);
        var table = new SgTable(new[]
        {
            new Scatterlist(new PhysAddress(p2p.PciAllocP2pmem(fabric["p0"], 4096)!.BusAddress), 4096),
            new Scatterlist(new PhysAddress(p2p.PciAllocP2pmem(fabric["p1"], 4096)!.BusAddress), 4096),
        });

        Assert.Equal(Errno.EREMOTEIO, api.DmaMapSgtable(dev, table, DmaDirection.ToDevice));

        Assert.Equal(0, table.Nents);
        Assert.All(table.Entries, e => Assert.False(e.IsBusAddress));
        Assert.Equal(PciP2pdmaMapType.NotSupported, p2p.Explain(fabric["p1"], fabric["client"]).MapType);
    }

    [Fact]
    public void MapSgtable_EmptyTableOrNoDirection_IsEinval_AndMisuseThrows()
    {
        (PcieFabric fabric, DmaApi api, P2pDmaHost p2p) = Build();
        using PcieFabric owned = fabric;
        DmaDevice dev = api.GetDevice(fabric["client"]);

        Assert.Equal(Errno.EINVAL, api.DmaMapSgtable(dev, new SgTable(Array.Empty<Scatterlist>()), DmaDirection.ToDevice));
        Assert.Equal(Errno.EINVAL, api.DmaMapSgtable(dev, new SgTable(new[] { new Scatterlist(new PhysAddress(0x1000), 16) }), DmaDirection.None));
        var other = new DmaApi(fabric, p2p);
        Assert.Throws<ArgumentException>(() => other.DmaMapPhys(dev, new PhysAddress(0x1000), 16, DmaDirection.ToDevice));
        Assert.Same(dev, api.GetDevice(fabric["client"]));
    }

    [Fact]
    public void IovaTryAlloc_WithoutAnIommu_IsFalse()
    {
        (PcieFabric fabric, DmaApi api, _) = Build();
        using PcieFabric owned = fabric;
        DmaDevice dev = api.GetDevice(fabric["client"]);
        var state = new DmaIovaState();

        Assert.False(api.DmaIovaTryAlloc(dev, state, new PhysAddress(0x1000), 0x2000));
        Assert.False(state.UsesIova);
    }
}
