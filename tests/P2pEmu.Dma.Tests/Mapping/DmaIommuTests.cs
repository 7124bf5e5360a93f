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

/// <summary>The DMA API behind a translating IOMMU, checked by real DMA through the fabric.</summary>
public sealed class DmaIommuTests
{
    /// <summary>
    /// A translating IOMMU and an allow-listed host device; a and b under a switch whose ports redirect (so
    /// they are THRU_HOST_BRIDGE to each other and in separate IOMMU groups); far behind another root port.
    /// </summary>
    internal static Machine.Machine Build(bool iommuStrict = false)
    {
        AcsDescription linux = Topo.Acs(AcsFlags.SV | AcsFlags.RR | AcsFlags.CR | AcsFlags.UF);
        TopologyDescription topology = Topo.Machine(new HostBridgeDescription("hb0", 0, 0, IommuMode.Translate, true, new[]
        {
            Topo.HostDevice(0x8086, 0x2020),
            Topo.RootPort("rp0", AcsFlags.SV | AcsFlags.RR | AcsFlags.CR | AcsFlags.UF,
                Topo.Switch("sw", Topo.Port("d0", linux, Topo.Endpoint("a", 4 * Topo.MiB)), Topo.Port("d1", linux, Topo.Endpoint("b", 4 * Topo.MiB)))),
            Topo.RootPort("rp1", AcsFlags.SV | AcsFlags.RR | AcsFlags.CR | AcsFlags.UF, Topo.Endpoint("far", 4 * Topo.MiB)),
        }, "$.hostBridges[0]"));
        return Machine.Machine.Build(topology with { Platform = topology.Platform with { IommuStrict = iommuStrict } });
    }

    private static byte[] Random(int length, int seed)
    {
        byte[] bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public void MapPhys_GivesAnIovaThatIsNoBarOrMsiAddress_DmaLands_AndAfterAStrictUnmapTheSameDmaFaults()
    {
        using Machine.Machine machine = Build(iommuStrict: true);
        DmaDevice dev = machine.Dma.GetDevice(machine.Fabric["a"]);
        Assert.True(dev.UsesIommu);
        ulong phys = machine.Pages.AllocPage().Value;
        byte[] data = Random(100, 1);

        DmaAddress iova = machine.Dma.DmaMapPhys(dev, new PhysAddress(phys + 0x10), 100, DmaDirection.FromDevice);

        Assert.False(DmaApi.IsMappingError(iova));
        Assert.NotEqual(phys + 0x10, iova.Value);
        Assert.Equal(0x10UL, iova.Value & 0xFFF);
        Assert.False(machine.Fabric.HostBridges[0].WindowContains(iova.Value));
        Assert.False(iova.Value >= 0xFEE0_0000 && iova.Value <= 0xFEEF_FFFF);
        var port = new DmaPort(machine.Fabric, machine.Fabric["a"]);
        Assert.True(port.Write(iova, data).IsSuccess);
        machine.Fabric.TryFindRam(phys, out ulong offset, out _);
        Assert.Equal(data, machine.Fabric.Ram.Region.GetSpan(offset + 0x10, 100).ToArray());

        machine.Dma.DmaUnmapPhys(dev, iova, 100, DmaDirection.FromDevice);
        FabricSnapshot before = FabricSnapshot.FillAndCapture(machine.Fabric, 4096, seed: 2);
        DmaResult late = port.Write(iova, data);

        Assert.Equal(RouteStatus.IommuFault, late.Status);
        Assert.Empty(before.ChangedOutside(null, 0, 0));
        Assert.True(machine.Iommus[0].Faults.TotalCount > 0);
    }

    [Fact]
    public void MapPhys_ToDeviceMapping_IsReadOnlyForTheDevice()
    {
        using Machine.Machine machine = Build();
        DmaDevice dev = machine.Dma.GetDevice(machine.Fabric["a"]);
        ulong phys = machine.Pages.AllocPage().Value;
        DmaAddress iova = machine.Dma.DmaMapPhys(dev, new PhysAddress(phys), 4096, DmaDirection.ToDevice);
        var port = new DmaPort(machine.Fabric, machine.Fabric["a"]);

        Assert.True(port.Read(iova, new byte[64]).IsSuccess);
        Assert.Equal(RouteStatus.IommuFault, port.Write(iova, new byte[64]).Status);
    }

    [Fact]
    public void MapSgtable_MixedTable_MergesContiguousIovas_KeepsBusAddresses_AndMovesRealBytes()
    {
        using Machine.Machine machine = Build();
        PcieFabric fabric = machine.Fabric;
        P2pDmaHost p2p = machine.P2pDma;
        Assert.Equal(Errno.None, p2p.PciP2pdmaAddResource(fabric["b"], 0, 0, 0));
        Assert.Equal(Errno.None, p2p.PciP2pdmaAddResource(fabric["far"], 0, 0, 0));
        P2pMemory viaHostBridge = p2p.PciAllocP2pmem(fabric["far"], 4096)!;
        P2pMemory sameSwitch = p2p.PciAllocP2pmem(fabric["b"], 4096)!;
        Assert.Equal(PciP2pdmaMapType.ThruHostBridge, p2p.Explain(fabric["b"], fabric["a"]).MapType);
        ulong ram1 = machine.Pages.AllocPage().Value;
        ulong ram2 = machine.Pages.AllocPage().Value;
        DmaDevice dev = machine.Dma.GetDevice(fabric["a"]);
        var table = new SgTable(new[]
        {
            new Scatterlist(new PhysAddress(ram1), 4096),
            new Scatterlist(new PhysAddress(ram2), 4096),
            new Scatterlist(new PhysAddress(viaHostBridge.BusAddress), 4096),
            new Scatterlist(new PhysAddress(sameSwitch.BusAddress), 4096),
        });

        Assert.Equal(Errno.None, machine.Dma.DmaMapSgtable(dev, table, DmaDirection.FromDevice));

        Assert.Equal(1, table.Nents);
        Assert.Equal(16384U, table.Entries[0].DmaLength);
        Assert.False(table.Entries[0].IsBusAddress);
        byte[] data = Random(16384, 3);
        Assert.True(new DmaPort(fabric, fabric["a"]).Write(table.DmaSegments().ToArray(), data).IsSuccess);
        Assert.Equal(data.AsSpan(8192, 4096).ToArray(), ((PciEndpoint)fabric["far"]).Bars[0].Memory!.GetSpan(viaHostBridge.BarOffset, 4096).ToArray());
        Assert.Equal(data.AsSpan(12288, 4096).ToArray(), ((PciEndpoint)fabric["b"]).Bars[0].Memory!.GetSpan(sameSwitch.BarOffset, 4096).ToArray());

        machine.Dma.DmaUnmapSgtable(dev, table, DmaDirection.FromDevice);
        Assert.Equal(0, table.Nents);
    }

    [Fact]
    public void MapSgtable_BusAddrSegment_KeepsItsBusAddressAndNeedsNoIova()
    {
        using Machine.Machine machine = Build();
        PcieFabric fabric = machine.Fabric;
        P2pDmaHost p2p = machine.P2pDma;
        PciFunction dsp = fabric["d1"];
        dsp.Config.Write16(dsp.AcsCapabilityOffset + AcsConfig.Control, 0);
        PciFunction dsp0 = fabric["d0"];
        dsp0.Config.Write16(dsp0.AcsCapabilityOffset + AcsConfig.Control, 0);
        Assert.Equal(Errno.None, p2p.PciP2pdmaAddResource(fabric["b"], 0, 0, 0));
        P2pMemory peer = p2p.PciAllocP2pmem(fabric["b"], 8192)!;
        DmaDevice dev = machine.Dma.GetDevice(fabric["a"]);
        var table = new SgTable(new[] { new Scatterlist(new PhysAddress(peer.BusAddress), 8192) });

        Assert.Equal(Errno.None, machine.Dma.DmaMapSgtable(dev, table, DmaDirection.FromDevice));

        Assert.True(table.Entries[0].IsBusAddress);
        Assert.Equal(new DmaAddress(peer.BusAddress), table.Entries[0].DmaAddress);
        RouteResult route = fabric.Route(fabric["a"], table.Entries[0].DmaAddress, AccessKind.Write);
        Assert.Equal(RoutePath.SwitchPeer, route.Path);
    }

    [Fact]
    public void MapSgtable_NotSupportedSegment_FailsWithEremoteio_AndMapsNothing()
    {
        using Machine.Machine machine = Build();
        PcieFabric fabric = machine.Fabric;
        P2pDmaHost p2p = machine.P2pDma;
        Assert.Equal(Errno.None, p2p.PciP2pdmaAddResource(fabric["b"], 0, 0, 0));
        P2pMemory peer = p2p.PciAllocP2pmem(fabric["b"], 4096)!;
        PciFunction self = fabric["a"];

        // A NOT_SUPPORTED verdict in the provider's map-type cache, as a stale or refused pair leaves it.
        p2p.GetP2pdma(fabric["b"])!.MapTypes[P2pDmaHost.MapTypesIndex(self)] = PciP2pdmaMapType.NotSupported;
        DmaDevice dev = machine.Dma.GetDevice(self);
        ulong ram = machine.Pages.AllocPage().Value;
        var table = new SgTable(new[] { new Scatterlist(new PhysAddress(ram), 4096), new Scatterlist(new PhysAddress(peer.BusAddress), 4096) });

        Assert.Equal(Errno.EREMOTEIO, machine.Dma.DmaMapSgtable(dev, table, DmaDirection.ToDevice));

        Assert.Equal(0, table.Nents);
        Assert.All(table.Entries, e => Assert.False(e.IsBusAddress));

        // No IOVA was consumed: the domain's first allocation is still the top page below 4 GiB.
        Assert.Equal(new DmaAddress(0xFFFF_F000), machine.Dma.DmaMapPhys(dev, new PhysAddress(ram), 4096, DmaDirection.ToDevice));
    }

    [Fact]
    public void IovaApi_LinksRangesIntoOneWindowInOrder_AndDestroyRemovesTheMappings()
    {
        using Machine.Machine machine = Build();
        PcieFabric fabric = machine.Fabric;
        DmaDevice dev = machine.Dma.GetDevice(fabric["a"]);
        ulong ram = machine.Pages.AllocPages(1).Value;
        PciBar peer = ((PciEndpoint)fabric["far"]).Bars[0];
        var state = new DmaIovaState();

        Assert.True(machine.Dma.DmaIovaTryAlloc(dev, state, new PhysAddress(ram), 0x3000));
        Assert.Equal(Errno.None, machine.Dma.DmaIovaLink(dev, state, new PhysAddress(ram), 0, 0x2000, DmaDirection.FromDevice));
        Assert.Equal(Errno.None, machine.Dma.DmaIovaLink(dev, state, new PhysAddress(peer.Address + 0x4000), 0x2000, 0x1000, DmaDirection.FromDevice, DmaAttrs.Mmio));
        Assert.Equal(Errno.None, machine.Dma.DmaIovaSync(dev, state, 0, 0x3000));
        Assert.Equal(Errno.EINVAL, machine.Dma.DmaIovaLink(dev, state, new PhysAddress(ram), 0x2800, 0x1000, DmaDirection.FromDevice));

        byte[] data = Random(0x3000, 4);
        var port = new DmaPort(fabric, fabric["a"]);
        Assert.True(port.Write(state.Address, data).IsSuccess);
        fabric.TryFindRam(ram, out ulong offset, out _);
        Assert.Equal(data.AsSpan(0, 0x2000).ToArray(), fabric.Ram.Region.GetSpan(offset, 0x2000).ToArray());
        Assert.Equal(data.AsSpan(0x2000, 0x1000).ToArray(), peer.Memory!.GetSpan(0x4000, 0x1000).ToArray());

        machine.Dma.DmaIovaDestroy(dev, state, 0x3000, DmaDirection.FromDevice);
        Assert.False(state.UsesIova);
        Assert.Equal(RouteStatus.IommuFault, port.Write(new DmaAddress(state.Address.Value), data).Status);
    }

    [Fact]
    public void DevicesInOtherGroups_CannotReachAMapping_NotEvenByItsIova()
    {
        using Machine.Machine machine = Build();
        PcieFabric fabric = machine.Fabric;
        DmaDevice a = machine.Dma.GetDevice(fabric["a"]);
        DmaDevice far = machine.Dma.GetDevice(fabric["far"]);
        Assert.NotSame(a.IommuDomain, far.IommuDomain);
        ulong phys = machine.Pages.AllocPage().Value;
        DmaAddress iova = machine.Dma.DmaMapPhys(a, new PhysAddress(phys), 4096, DmaDirection.Bidirectional);
        FabricSnapshot before = FabricSnapshot.FillAndCapture(fabric, 4096, seed: 5);

        DmaResult guess = new DmaPort(fabric, fabric["far"]).Write(iova, new byte[16]);
        DmaResult physical = new DmaPort(fabric, fabric["far"]).Write(new DmaAddress(phys), new byte[16]);

        Assert.Equal(RouteStatus.IommuFault, guess.Status);
        Assert.Equal(RouteStatus.IommuFault, physical.Status);
        Assert.Empty(before.ChangedOutside(null, 0, 0));
    }

    [Fact]
    public void ThirtyTwoBitMask_GetsAnIovaBelowFourGibibytes()
    {
        using Machine.Machine machine = Build();
        DmaDevice dev = machine.Dma.GetDevice(machine.Fabric["b"]);
        dev.DmaMask = 0xFFFF_FFFF;

        DmaAddress iova = machine.Dma.DmaMapPhys(dev, new PhysAddress(machine.Pages.AllocPage().Value), 8192, DmaDirection.ToDevice);

        Assert.InRange(iova.Value, 1UL, 0xFFFF_FFFFUL - 8191);
    }

    [Fact]
    public void TheIommuKeysOnTheRequesterIdInTheRequest_SoOnlySourceValidationStopsASpoofedId()
    {
        using Machine.Machine machine = Build();
        PcieFabric fabric = machine.Fabric;
        DmaDevice b = machine.Dma.GetDevice(fabric["b"]);
        Assert.NotSame(machine.Dma.GetDevice(fabric["a"]).IommuDomain, b.IommuDomain);
        ulong phys = machine.Pages.AllocPage().Value;
        DmaAddress iova = machine.Dma.DmaMapPhys(b, new PhysAddress(phys), 4096, DmaDirection.FromDevice);
        var spoofing = new DmaPort(fabric, fabric["a"]) { RequesterIdOverride = fabric["b"].Bdf };

        DmaResult blocked = spoofing.Write(iova, new byte[8]);
        Assert.Equal(RouteStatus.AcsViolation, blocked.Status);
        Assert.Equal(RouteReason.AcsSourceValidation, blocked.Failure.Reason);

        PciFunction port = fabric["d0"];
        port.Config.Write16(port.AcsCapabilityOffset + AcsConfig.Control, (ushort)(AcsFlags.RR | AcsFlags.CR | AcsFlags.UF));
        byte[] data = Random(8, 9);
        Assert.True(spoofing.Write(iova, data).IsSuccess);
        fabric.TryFindRam(phys, out ulong offset, out _);
        Assert.Equal(data, fabric.Ram.Region.GetSpan(offset, 8).ToArray());
        Assert.Equal(RouteStatus.IommuFault, new DmaPort(fabric, fabric["a"]).Write(iova, data).Status);
    }
}
