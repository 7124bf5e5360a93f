using System;
using System.Linq;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Dma.Tests.P2pDma;

public sealed class MapTypeTests
{
    private static (PciP2pdmaMapType Map, int Distance, int PathDistance) Verdict(TopologyDescription topology, string provider, string client)
    {
        using PcieFabric fabric = FabricBuilder.Build(topology);
        var host = new P2pDmaHost(fabric);
        P2pVerdict verdict = host.Explain(fabric[provider], fabric[client]);
        int distance = host.PciP2pdmaDistance(fabric[provider], Device.ForPci(fabric[client]), verbose: false);
        Assert.Equal(verdict.Distance, distance);
        return (verdict.MapType, distance, verdict.PathDistance);
    }

    [Fact]
    public void V1_DeviceWithItself_NoAcs_IsBusAddrAtDistanceZero()
    {
        Assert.Equal((PciP2pdmaMapType.BusAddr, 0, 0), Verdict(SpecTopologies.S(), "A", "A"));
    }

    [Fact]
    public void V2_DeviceWithItself_OwnAcsRedirect_IntelUnlisted_IsNotSupported()
    {
        Assert.Equal((PciP2pdmaMapType.NotSupported, -1, 0), Verdict(SpecTopologies.S(a: Topo.Acs(AcsFlags.RR)), "A", "A"));
    }

    [Fact]
    public void V2b_DeviceWithItself_OwnAcsRedirect_AmdZen_IsThruHostBridge()
    {
        Assert.Equal((PciP2pdmaMapType.ThruHostBridge, 0, 0), Verdict(SpecTopologies.S(a: Topo.Acs(AcsFlags.RR), cpu: CpuVendor.Amd), "A", "A"));
    }

    [Fact]
    public void V3_TwoFunctionsUnderRootPort_NoAcs_IsBusAddrAtDistanceTwo()
    {
        TopologyDescription topology = SpecTopologies.TwoFunctions(null, SpecTopologies.IntelUnlisted);
        using PcieFabric fabric = FabricBuilder.Build(topology);
        Assert.Equal("01:00.1", fabric["F1"].Bdf.ToString());
        Assert.Equal((PciP2pdmaMapType.BusAddr, 2, 2), Verdict(topology, "F0", "F1"));
    }

    [Fact]
    public void V4_TwoFunctions_RootPortRedirects_AllowListedSkylake_IsThruHostBridge()
    {
        Assert.Equal((PciP2pdmaMapType.ThruHostBridge, 2, 2), Verdict(SpecTopologies.TwoFunctions(Topo.Acs(SpecTopologies.Linux), 0x2030), "F0", "F1"));
    }

    [Fact]
    public void V5_SwitchPeers_NoAcs_IsBusAddrAtDistanceFour()
    {
        Assert.Equal((PciP2pdmaMapType.BusAddr, 4, 4), Verdict(SpecTopologies.S(), "A", "B"));
    }

    [Fact]
    public void V6_SwitchPeers_BothPortsRedirect_IntelUnlisted_IsNotSupported_AndTheHintListsProviderSideFirst()
    {
        TopologyDescription topology = SpecTopologies.S(Topo.Acs(SpecTopologies.Linux), Topo.Acs(SpecTopologies.Linux));
        Assert.Equal((PciP2pdmaMapType.NotSupported, -1, 4), Verdict(topology, "A", "B"));

        using PcieFabric fabric = FabricBuilder.Build(topology);
        var host = new P2pDmaHost(fabric);
        P2pVerdict verdict = host.Explain(fabric["A"], fabric["B"]);
        Assert.Equal(new[] { "02:00.0", "02:01.0" }, verdict.RedirectingDevices.Select(d => d.Bdf.ToString()));
        Assert.Equal(-1, host.PciP2pdmaDistance(fabric["A"], Device.ForPci(fabric["B"]), verbose: true));
        Assert.Contains("pci 0000:04:00.0: to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=0000:02:00.0;0000:02:01.0", host.KernelLog);
        Assert.Contains(host.KernelLog, l => l.Contains("do not share an upstream bridge or whitelisted host bridge", StringComparison.Ordinal));
    }

    [Fact]
    public void V7_EgressControlOnOnePort_AmdZen_IsThruHostBridge()
    {
        Assert.Equal((PciP2pdmaMapType.ThruHostBridge, 4, 4), Verdict(SpecTopologies.S(dsp1: Topo.Acs(AcsFlags.EC), cpu: CpuVendor.Amd), "A", "B"));
    }

    [Fact]
    public void V8_CommonUpstreamPortRedirects_GoogleHostDevice_IsThruHostBridge()
    {
        Assert.Equal((PciP2pdmaMapType.ThruHostBridge, 4, 4), Verdict(SpecTopologies.S(usp: Topo.Acs(AcsFlags.RR), hostVendor: 0x1AE0, hostDevice: 0x1234), "A", "B"));
    }

    [Fact]
    public void V14_NestedSwitches_NoAcs_IsBusAddrAtDistanceSix()
    {
        TopologyDescription topology = Topo.Machine(Topo.HostBridge("hb0", Topo.HostDevice(0x8086, SpecTopologies.IntelUnlisted),
            Topo.RootPort("rp", Topo.Switch("usp1",
                Topo.Port("dsp1a", Topo.Switch("usp2", Topo.Port("dsp2a", Topo.Endpoint("A")))),
                Topo.Port("dsp1b", Topo.Endpoint("B"))))));
        Assert.Equal((PciP2pdmaMapType.BusAddr, 6, 6), Verdict(topology, "A", "B"));
    }

    [Fact]
    public void DifferentRootPorts_CountChainNodes_AndFollowTheAllowList()
    {
        TopologyDescription Topology(ushort hostDevice) => Topo.Machine(Topo.HostBridge("hb0", Topo.HostDevice(0x8086, hostDevice),
            Topo.RootPort("rp0", Topo.Endpoint("A")), Topo.RootPort("rp1", Topo.Switch("sw", Topo.Port("dp", Topo.Endpoint("B"))))));

        Assert.Equal((PciP2pdmaMapType.NotSupported, -1, 2 + 4), Verdict(Topology(SpecTopologies.IntelUnlisted), "A", "B"));
        Assert.Equal((PciP2pdmaMapType.ThruHostBridge, 6, 6), Verdict(Topology(0x2020), "A", "B"));
        Assert.Equal((PciP2pdmaMapType.ThruHostBridge, 6, 6), Verdict(Topology(0x3C00), "A", "B"));
    }

    [Fact]
    public void RequireSameHostBridgeEntry_RefusesPairsAcrossHostBridges()
    {
        TopologyDescription Topology(ushort device) => Topo.Machine(
            Topo.HostBridge("hb0", 0, 0, false, Topo.HostDevice(0x8086, device), Topo.RootPort("rp0", Topo.Endpoint("A")), Topo.RootPort("rp1", Topo.Endpoint("C"))),
            Topo.HostBridge("hb1", 0, 0x80, false, Topo.HostDevice(0x8086, device) with { Name = "hostdev1" }, Topo.RootPort("rp2", Topo.Endpoint("B"))));

        Assert.Equal(PciP2pdmaMapType.ThruHostBridge, Verdict(Topology(0x3C00), "A", "C").Map);
        Assert.Equal(PciP2pdmaMapType.NotSupported, Verdict(Topology(0x3C00), "A", "B").Map);
        Assert.Equal(PciP2pdmaMapType.ThruHostBridge, Verdict(Topology(0x2020), "A", "B").Map);
    }

    [Fact]
    public void AcrossHostBridges_BothMustBeAllowed()
    {
        TopologyDescription topology = Topo.Machine(
            Topo.HostBridge("hb0", 0, 0, false, Topo.HostDevice(0x8086, 0x2020), Topo.RootPort("rp0", Topo.Endpoint("A"))),
            Topo.HostBridge("hb1", 0, 0x80, false, Topo.HostDevice(0x8086, SpecTopologies.IntelUnlisted) with { Name = "hostdev1" }, Topo.RootPort("rp1", Topo.Endpoint("B"))));
        using PcieFabric fabric = FabricBuilder.Build(topology);
        var host = new P2pDmaHost(fabric);
        P2pVerdict verdict = host.Explain(fabric["A"], fabric["B"]);
        string reason = host.DescribeHostBridgeDecision(fabric["A"], fabric["B"]);

        Assert.Equal(PciP2pdmaMapType.NotSupported, verdict.MapType);
        Assert.False(verdict.HostBridgeAllowed);
        Assert.Contains("hb0: host device hostdev (8086:2020) matches allow-list entry 8086:2020 Intel Skylake-E", reason, StringComparison.Ordinal);
        Assert.Contains("hb1: host device hostdev1", reason, StringComparison.Ordinal);
        Assert.Contains("not in the P2PDMA allow list", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(CpuVendor.Amd, 0x17, true)]
    [InlineData(CpuVendor.Amd, 0x19, true)]
    [InlineData(CpuVendor.Amd, 0x16, false)]
    [InlineData(CpuVendor.Hygon, 0x18, false)]
    [InlineData(CpuVendor.Intel, 6, false)]
    public void CpuRule_OnlyAmdZenOrNewerAllowsHostBridgeP2p(CpuVendor vendor, int family, bool allowed)
    {
        TopologyDescription topology = Topo.Machine(Topo.HostBridge("hb0", Topo.HostDevice(0x8086, SpecTopologies.IntelUnlisted),
            Topo.RootPort("rp0", Topo.Endpoint("A")), Topo.RootPort("rp1", Topo.Endpoint("B"))));
        topology = topology with { Platform = topology.Platform with { CpuVendor = vendor, CpuFamily = family } };

        Assert.Equal(allowed ? PciP2pdmaMapType.ThruHostBridge : PciP2pdmaMapType.NotSupported, Verdict(topology, "A", "B").Map);
    }

    [Fact]
    public void RootBusHostDevice_IsTheFirstDeviceOnlyWhenAt00Dot0OrARootPort()
    {
        DeviceDescription listedEndpoint = Topo.Endpoint("listed") with { Slot = new PciSlot(2, 0), VendorId = 0x8086, DeviceId = 0x2020 };
        TopologyDescription notFirst = Topo.Machine(Topo.HostBridge("hb0", listedEndpoint, Topo.RootPort("rp0", Topo.Endpoint("A")), Topo.RootPort("rp1", Topo.Endpoint("B"))));
        Assert.Equal(PciP2pdmaMapType.NotSupported, Verdict(notFirst, "A", "B").Map);

        DeviceDescription listedRootPort = Topo.RootPort("rp0", Topo.Endpoint("A")) with { Slot = new PciSlot(1, 0), VendorId = 0x8086, DeviceId = 0x2020 };
        TopologyDescription rootPortFirst = Topo.Machine(Topo.HostBridge("hb0", listedRootPort, Topo.RootPort("rp1", Topo.Endpoint("B"))));
        using PcieFabric fabric = FabricBuilder.Build(rootPortFirst);
        Assert.Same(fabric["rp0"], P2pDmaHost.PciHostBridgeDev(fabric.HostBridges[0]));
        Assert.Equal(PciP2pdmaMapType.ThruHostBridge, Verdict(rootPortFirst, "A", "B").Map);
    }

    [Fact]
    public void NvidiaEntries_AreInTheRevokeProfileOnly()
    {
        TopologyDescription Topology(KernelProfile kernel) => Topo.Machine(Topo.HostBridge("hb0", Topo.HostDevice(0x10DE, 0x2F96),
            Topo.RootPort("rp0", Topo.Endpoint("A")), Topo.RootPort("rp1", Topo.Endpoint("B")))) is var t ? t with { Platform = t.Platform with { Kernel = kernel } } : null!;

        Assert.Equal(PciP2pdmaMapType.NotSupported, Verdict(Topology(KernelProfile.Linux619), "A", "B").Map);
        Assert.Equal(PciP2pdmaMapType.ThruHostBridge, Verdict(Topology(KernelProfile.Revoke2026), "A", "B").Map);
    }

    [Fact]
    public void VirtualFunctions_ShareTheirPfsUpstreamBridge()
    {
        TopologyDescription topology = Topo.Machine(Topo.HostBridge("hb0", Topo.HostDevice(),
            Topo.RootPort("rp", Topo.Switch("sw", Topo.Port("dp0", Topo.Endpoint("pf") with { Vfs = 2 }), Topo.Port("dp1", Topo.Endpoint("B"))))));

        Assert.Equal((PciP2pdmaMapType.BusAddr, 2, 2), Verdict(topology, "pf.vf1", "pf.vf2"));
        Assert.Equal((PciP2pdmaMapType.BusAddr, 2, 2), Verdict(topology, "pf", "pf.vf1"));
        Assert.Equal((PciP2pdmaMapType.BusAddr, 4, 4), Verdict(topology, "pf.vf2", "B"));
    }

    [Fact]
    public void RootComplexIntegratedEndpoints_HaveNoCommonUpstream()
    {
        TopologyDescription topology = Topo.Machine(Topo.HostBridge("hb0", Topo.HostDevice(0x8086, 0x2020), (Topo.Endpoint("R1") with { Slot = new PciSlot(3, 0) }).WithFunctions(Topo.Endpoint("R1f")), Topo.Endpoint("R2")));

        Assert.Equal((PciP2pdmaMapType.ThruHostBridge, 2, 2), Verdict(topology, "R1", "R2"));
        Assert.Equal((PciP2pdmaMapType.ThruHostBridge, 2, 2), Verdict(topology, "R1", "R1f"));
        Assert.Equal((PciP2pdmaMapType.BusAddr, 0, 0), Verdict(topology, "R2", "R2"));
    }
}
