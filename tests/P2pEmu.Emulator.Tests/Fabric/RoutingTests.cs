using System;
using System.Linq;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Emulator.Tests.Fabric;

public sealed class RoutingTests
{
    private const int Payload = 4096;

    /// <summary>hb0: rp1 -> sw0 { dp0 -> a, dp1 -> b, dp2 -> d }, rp2 -> c.</summary>
    private static PcieFabric BuildSwitch(AcsDescription? dp0 = null, AcsDescription? dp1 = null, bool rootComplexP2p = false, AcsFlags rp1 = AcsFlags.None)
    {
        TopologyDescription topology = Topo.Machine(Topo.HostBridge("hb0", 0, 0, rootComplexP2p,
            Topo.HostDevice(),
            Topo.RootPort("rp1", rp1, Topo.Switch("sw0",
                Topo.Port("dp0", dp0!, Topo.Endpoint("a")),
                Topo.Port("dp1", dp1!, Topo.Endpoint("b")),
                Topo.Port("dp2", Topo.Endpoint("d")))),
            Topo.RootPort("rp2", Topo.Endpoint("c"))));
        return FabricBuilder.Build(topology);
    }

    private static PciBar Bar(PcieFabric fabric, string name) => ((PciEndpoint)fabric[name]).Bars[0];

    private static byte[] RandomBytes(int length, int seed)
    {
        byte[] bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static void AssertWritten(PcieFabric fabric, FabricSnapshot before, PciBar bar, ulong offset, byte[] expected)
    {
        Assert.Equal(expected, bar.Memory!.GetSpan(offset, expected.Length).ToArray());
        Assert.Empty(before.ChangedOutside(bar.Memory, offset, (ulong)expected.Length));
    }

    [Fact]
    public void Write_PeerBarBehindSiblingPort_TurnsAroundInSwitchWithoutReachingRootComplex()
    {
        using PcieFabric fabric = BuildSwitch();
        var translator = new CountingTranslator();
        fabric.HostBridges[0].Translator = translator;
        FabricSnapshot before = FabricSnapshot.FillAndCapture(fabric, 2 * Payload, seed: 1);
        PciBar b = Bar(fabric, "b");
        byte[] data = RandomBytes(Payload, 2);

        var port = new DmaPort(fabric, fabric["a"]);
        DmaResult result = port.Write(new DmaAddress(b.Address + 0x100), data);

        Assert.True(result.IsSuccess, result.ToString());
        RouteResult route = fabric.Route(fabric["a"], new DmaAddress(b.Address + 0x100), AccessKind.Write);
        Assert.Equal(RoutePath.SwitchPeer, route.Path);
        Assert.Equal(RouteReason.PeerWindow, route.Reason);
        Assert.Same(fabric["dp0"], route.DecidedAt);
        Assert.False(route.ReachedRootComplex);
        Assert.Equal(0, translator.Calls);
        AssertWritten(fabric, before, b, 0x100, data);
    }

    [Fact]
    public void Write_RequestRedirectOnIngressPort_GoesUpToRootComplexAndBackDown()
    {
        using PcieFabric fabric = BuildSwitch(dp0: Topo.Acs(AcsFlags.RR | AcsFlags.CR));
        var translator = new CountingTranslator();
        fabric.HostBridges[0].Translator = translator;
        FabricSnapshot before = FabricSnapshot.FillAndCapture(fabric, 2 * Payload, seed: 3);
        PciBar b = Bar(fabric, "b");
        byte[] data = RandomBytes(Payload, 4);

        DmaResult result = new DmaPort(fabric, fabric["a"]).Write(new DmaAddress(b.Address), data);

        Assert.True(result.IsSuccess, result.ToString());
        Assert.Equal(1, translator.Calls);
        RouteResult route = fabric.Route(fabric["a"], new DmaAddress(b.Address), AccessKind.Write);
        Assert.Equal(RoutePath.RootComplexPeer, route.Path);
        Assert.Equal(RouteReason.RootComplexHairpin, route.Reason);
        Assert.Same(fabric["dp0"], route.RedirectedAt);
        Assert.True(route.ReachedRootComplex);
        AssertWritten(fabric, before, b, 0, data);
    }

    [Fact]
    public void Write_RedirectedBusAddressWithoutIommuMapping_FaultsAndWritesNothing()
    {
        using PcieFabric fabric = BuildSwitch(dp0: Topo.Acs(AcsFlags.RR));
        fabric.HostBridges[0].Translator = new CountingTranslator { Refuse = true };
        FabricSnapshot before = FabricSnapshot.FillAndCapture(fabric, 2 * Payload, seed: 5);
        PciBar b = Bar(fabric, "b");

        DmaResult result = new DmaPort(fabric, fabric["a"]).Write(new DmaAddress(b.Address), RandomBytes(Payload, 6));

        Assert.Equal(RouteStatus.IommuFault, result.Status);
        Assert.Equal(0UL, result.BytesTransferred);
        Assert.Same(fabric["dp0"], result.Failure.RedirectedAt);
        Assert.Empty(before.ChangedOutside(null, 0, 0));
    }

    [Fact]
    public void Write_SourceValidationWithForeignRequesterId_IsBlocked()
    {
        using PcieFabric fabric = BuildSwitch(dp0: Topo.Acs(AcsFlags.SV));
        FabricSnapshot before = FabricSnapshot.FillAndCapture(fabric, Payload, seed: 7);
        PciBar b = Bar(fabric, "b");
        var port = new DmaPort(fabric, fabric["a"]) { RequesterIdOverride = fabric["c"].Bdf };

        DmaResult spoofed = port.Write(new DmaAddress(b.Address), RandomBytes(64, 8));

        Assert.Equal(RouteStatus.AcsViolation, spoofed.Status);
        Assert.Equal(RouteReason.AcsSourceValidation, spoofed.Failure.Reason);
        Assert.Same(fabric["dp0"], spoofed.Failure.DecidedAt);
        Assert.Empty(before.ChangedOutside(null, 0, 0));

        port.RequesterIdOverride = null;
        Assert.True(port.Write(new DmaAddress(b.Address), RandomBytes(64, 9)).IsSuccess);
    }

    [Fact]
    public void Write_EgressVectorBlocksTargetPort_IsAcsViolation_OtherPortsStillReachable()
    {
        using PcieFabric fabric = BuildSwitch(dp0: Topo.Acs(AcsFlags.EC, egress: 1u << 1));
        Assert.Equal(1, fabric["dp1"].PortNumber);
        FabricSnapshot before = FabricSnapshot.FillAndCapture(fabric, Payload, seed: 10);
        var port = new DmaPort(fabric, fabric["a"]);

        DmaResult blocked = port.Write(new DmaAddress(Bar(fabric, "b").Address), RandomBytes(64, 11));
        Assert.Equal(RouteStatus.AcsViolation, blocked.Status);
        Assert.Equal(RouteReason.AcsEgressBlocked, blocked.Failure.Reason);
        Assert.Empty(before.ChangedOutside(null, 0, 0));

        byte[] data = RandomBytes(64, 12);
        PciBar d = Bar(fabric, "d");
        Assert.True(port.Write(new DmaAddress(d.Address), data).IsSuccess);
        Assert.Equal(RoutePath.SwitchPeer, fabric.Route(fabric["a"], new DmaAddress(d.Address), AccessKind.Write).Path);
        AssertWritten(fabric, before, d, 0, data);
    }

    [Fact]
    public void Write_AcrossRootPorts_RefusedWithoutRootComplexP2p()
    {
        using PcieFabric fabric = BuildSwitch(rootComplexP2p: false);
        FabricSnapshot before = FabricSnapshot.FillAndCapture(fabric, Payload, seed: 13);

        DmaResult result = new DmaPort(fabric, fabric["a"]).Write(new DmaAddress(Bar(fabric, "c").Address), RandomBytes(256, 14));

        Assert.Equal(RouteStatus.UnsupportedRequest, result.Status);
        Assert.Equal(RouteReason.NoRootComplexP2p, result.Failure.Reason);
        Assert.True(result.Failure.ReachedRootComplex);
        Assert.Empty(before.ChangedOutside(null, 0, 0));
    }

    [Fact]
    public void Write_AcrossRootPorts_ForwardedWhenPlatformAllows()
    {
        using PcieFabric fabric = BuildSwitch(rootComplexP2p: true);
        FabricSnapshot before = FabricSnapshot.FillAndCapture(fabric, Payload, seed: 15);
        PciBar c = Bar(fabric, "c");
        byte[] data = RandomBytes(256, 16);

        Assert.True(new DmaPort(fabric, fabric["a"]).Write(new DmaAddress(c.Address + 8), data).IsSuccess);

        RouteResult route = fabric.Route(fabric["a"], new DmaAddress(c.Address + 8), AccessKind.Write);
        Assert.Equal(RoutePath.RootComplexPeer, route.Path);
        Assert.Equal(RouteReason.RootComplexForward, route.Reason);
        AssertWritten(fabric, before, c, 8, data);
    }

    [Fact]
    public void WriteAndRead_AddressInNoWindow_AreUnsupportedRequests_AndTouchNothing()
    {
        using PcieFabric fabric = BuildSwitch();
        FabricSnapshot before = FabricSnapshot.FillAndCapture(fabric, Payload, seed: 17);
        var port = new DmaPort(fabric, fabric["a"]);
        var hole = new DmaAddress(FabricBuilder.Memory32End - 0x1000);

        DmaResult write = port.Write(hole, RandomBytes(64, 18));
        byte[] buffer = RandomBytes(64, 19);
        byte[] untouched = (byte[])buffer.Clone();
        DmaResult read = port.Read(hole, buffer);

        Assert.Equal(RouteStatus.UnsupportedRequest, write.Status);
        Assert.Equal(RouteReason.Unclaimed, write.Failure.Reason);
        Assert.Equal(RouteStatus.UnsupportedRequest, read.Status);
        Assert.Equal(untouched, buffer);
        Assert.Empty(before.ChangedOutside(null, 0, 0));
    }

    [Fact]
    public void Write_HostRamAddress_LandsInRam()
    {
        using PcieFabric fabric = BuildSwitch();
        FabricSnapshot before = FabricSnapshot.FillAndCapture(fabric, 3 * Payload, seed: 20);
        byte[] data = RandomBytes(Payload, 21);

        DmaResult result = new DmaPort(fabric, fabric["b"]).Write(new DmaAddress(0x1000), data);

        Assert.True(result.IsSuccess);
        Assert.Equal(data, fabric.Ram.Region.GetSpan(0x1000, Payload).ToArray());
        Assert.Empty(before.ChangedOutside(fabric.Ram.Region, 0x1000, Payload));
        Assert.Equal(RoutePath.HostMemory, fabric.Route(fabric["b"], new DmaAddress(0x1000), AccessKind.Write).Path);
    }

    [Fact]
    public void Read_PeerWithCompletionRedirect_DeliversDataAndReportsRedirectedCompletion()
    {
        using PcieFabric fabric = BuildSwitch(dp1: Topo.Acs(AcsFlags.CR));
        PciBar b = Bar(fabric, "b");
        byte[] expected = RandomBytes(Payload, 22);
        expected.CopyTo(b.Memory!.GetSpan(0x2000, Payload));
        byte[] buffer = new byte[Payload];

        DmaResult result = new DmaPort(fabric, fabric["a"]).Read(new DmaAddress(b.Address + 0x2000), buffer);

        Assert.True(result.IsSuccess);
        Assert.Equal(expected, buffer);
        RouteResult read = fabric.Route(fabric["a"], new DmaAddress(b.Address + 0x2000), AccessKind.Read);
        Assert.Equal(RoutePath.SwitchPeer, read.Path);
        Assert.Same(fabric["dp1"], read.CompletionRedirectedAt);
        RouteResult write = fabric.Route(fabric["a"], new DmaAddress(b.Address + 0x2000), AccessKind.Write);
        Assert.Null(write.CompletionRedirectedAt);
    }

    [Fact]
    public void Write_OwnBarWithoutUpstreamForwarding_IsUnsupported_WithUpstreamForwardingHairpins()
    {
        using PcieFabric without = BuildSwitch();
        PciBar own = Bar(without, "a");
        RouteResult refused = without.Route(without["a"], new DmaAddress(own.Address), AccessKind.Write);
        Assert.Equal(RouteStatus.UnsupportedRequest, refused.Status);
        Assert.Equal(RouteReason.NoUpstreamForwarding, refused.Reason);

        using PcieFabric with = BuildSwitch(dp0: Topo.Acs(AcsFlags.UF));
        RouteResult forwarded = with.Route(with["a"], new DmaAddress(Bar(with, "a").Address), AccessKind.Write);
        Assert.True(forwarded.IsDelivered);
        Assert.Equal(RoutePath.RootComplexPeer, forwarded.Path);
        Assert.Equal(RouteReason.RootComplexHairpin, forwarded.Reason);
    }

    [Fact]
    public void Write_BusMasterDisabled_OnRequesterOrBridge_IsRefused()
    {
        using PcieFabric fabric = BuildSwitch();
        ulong target = Bar(fabric, "b").Address;
        fabric["a"].Config.Write16(PciConfig.Command, PciConfig.CommandMemory);
        Assert.Equal(RouteStatus.BusMasterDisabled, fabric.Route(fabric["a"], new DmaAddress(target), AccessKind.Write).Status);

        fabric["a"].Config.Write16(PciConfig.Command, PciConfig.CommandMemory | PciConfig.CommandMaster);
        fabric["dp0"].Config.Write16(PciConfig.Command, PciConfig.CommandMemory);
        RouteResult route = fabric.Route(fabric["a"], new DmaAddress(target), AccessKind.Write);
        Assert.Equal(RouteStatus.UnsupportedRequest, route.Status);
        Assert.Equal(RouteReason.BridgeBusMasterDisabled, route.Reason);
    }

    [Fact]
    public void Write_TargetMemoryDecodeDisabled_IsUnsupportedRequest()
    {
        using PcieFabric fabric = BuildSwitch();
        ulong target = Bar(fabric, "b").Address;
        fabric["b"].Config.Write16(PciConfig.Command, PciConfig.CommandMaster);

        RouteResult route = fabric.Route(fabric["a"], new DmaAddress(target), AccessKind.Write);

        Assert.Equal(RouteStatus.UnsupportedRequest, route.Status);
        Assert.Equal(RouteReason.Unclaimed, route.Reason);
    }

    [Fact]
    public void Write_TranslatedRequests_BlockedByTb_DirectWithDtDespiteRedirect()
    {
        using PcieFabric blocked = BuildSwitch(dp0: Topo.Acs(AcsFlags.TB));
        RouteResult tb = blocked.Route(blocked["a"], new DmaAddress(Bar(blocked, "b").Address), AccessKind.Write, translatedRequest: true);
        Assert.Equal(RouteReason.AcsTranslationBlocking, tb.Reason);
        Assert.True(blocked.Route(blocked["a"], new DmaAddress(Bar(blocked, "b").Address), AccessKind.Write).IsDelivered);

        using PcieFabric direct = BuildSwitch(dp0: Topo.Acs(AcsFlags.RR | AcsFlags.DT));
        ulong b = Bar(direct, "b").Address;
        Assert.Equal(RoutePath.RootComplexPeer, direct.Route(direct["a"], new DmaAddress(b), AccessKind.Write).Path);
        RouteResult dt = direct.Route(direct["a"], new DmaAddress(b), AccessKind.Write, translatedRequest: true);
        Assert.Equal(RoutePath.SwitchPeer, dt.Path);
        Assert.Equal(RouteReason.DirectTranslated, dt.Reason);
    }

    [Fact]
    public void Write_BetweenFunctionsOfOneDevice_StaysInside_UnlessFunctionAcsRedirects()
    {
        DeviceDescription mfd = Topo.Endpoint("f0").WithFunctions(Topo.Endpoint("f1"));
        using PcieFabric plain = FabricBuilder.Build(Topo.Machine(Topo.HostBridge("hb0", Topo.RootPort("rp", mfd))));
        ulong f1 = Bar(plain, "f1").Address;
        RouteResult inside = plain.Route(plain["f0"], new DmaAddress(f1), AccessKind.Write);
        Assert.Equal(RoutePath.MultiFunctionPeer, inside.Path);
        Assert.False(inside.ReachedRootComplex);

        DeviceDescription redirecting = Topo.Endpoint("f0").WithAcs(AcsFlags.RR).WithFunctions(Topo.Endpoint("f1"));
        using PcieFabric acs = FabricBuilder.Build(Topo.Machine(Topo.HostBridge("hb0", Topo.RootPort("rp", AcsFlags.UF, redirecting))));
        RouteResult up = acs.Route(acs["f0"], new DmaAddress(Bar(acs, "f1").Address), AccessKind.Write);
        Assert.Equal(RoutePath.RootComplexPeer, up.Path);
        Assert.Same(acs["f0"], up.RedirectedAt);
    }

    [Fact]
    public void Write_NestedSwitches_TurnsAroundAtTheCommonSwitch()
    {
        TopologyDescription topology = Topo.Machine(Topo.HostBridge("hb0",
            Topo.RootPort("rp", Topo.Switch("outer",
                Topo.Port("o0", Topo.Switch("inner", Topo.Port("i0", Topo.Endpoint("a")), Topo.Port("i1", Topo.Endpoint("x")))),
                Topo.Port("o1", Topo.Endpoint("b"))))));
        using PcieFabric fabric = FabricBuilder.Build(topology);
        var translator = new CountingTranslator();
        fabric.HostBridges[0].Translator = translator;
        var trace = new RouteTrace();

        RouteResult route = fabric.Route(fabric["a"], new DmaAddress(Bar(fabric, "b").Address), AccessKind.Write, trace: trace);

        Assert.Equal(RoutePath.SwitchPeer, route.Path);
        Assert.Same(fabric["o0"], route.DecidedAt);
        Assert.Equal(0, translator.Calls);
        Assert.Contains(trace.Hops, h => h.Where == "i0" && h.What.Contains("upstream through inner.up", StringComparison.Ordinal));
        Assert.Equal("b", trace.Hops[^1].Where);
    }

    [Fact]
    public void Write_AcrossHostBridges_NeedsBothToForward()
    {
        TopologyDescription Topology(bool second) => Topo.Machine(
            Topo.HostBridge("hb0", 0, 0, true, Topo.RootPort("rp0", Topo.Endpoint("a"))),
            Topo.HostBridge("hb1", 0, 0x80, second, Topo.RootPort("rp1", Topo.Endpoint("b"))));
        using PcieFabric refused = FabricBuilder.Build(Topology(false));
        Assert.Equal(0x81, refused["b"].Bdf.Bus);
        Assert.Equal(RouteReason.NoRootComplexP2p, refused.Route(refused["a"], new DmaAddress(Bar(refused, "b").Address), AccessKind.Write).Reason);

        using PcieFabric allowed = FabricBuilder.Build(Topology(true));
        RouteResult route = allowed.Route(allowed["a"], new DmaAddress(Bar(allowed, "b").Address), AccessKind.Write);
        Assert.Equal(RouteReason.RootComplexForward, route.Reason);
        Assert.True(route.IsDelivered);
    }

    [Fact]
    public void Route_RootComplexIntegratedEndpoints_ReachEachOtherOnlyWithRootComplexP2p()
    {
        TopologyDescription Topology(bool p2p) => Topo.Machine(Topo.HostBridge("hb0", 0, 0, p2p, Topo.HostDevice(), Topo.Endpoint("r1"), Topo.Endpoint("r2")));
        using PcieFabric refused = FabricBuilder.Build(Topology(false));
        Assert.Equal(RouteReason.NoRootComplexP2p, refused.Route(refused["r1"], new DmaAddress(Bar(refused, "r2").Address), AccessKind.Write).Reason);
        using PcieFabric allowed = FabricBuilder.Build(Topology(true));
        Assert.Equal(RouteReason.RootComplexForward, allowed.Route(allowed["r1"], new DmaAddress(Bar(allowed, "r2").Address), AccessKind.Write).Reason);
    }

    [Fact]
    public void Route_VirtualFunctionBars_DecodeFromSriovCapability()
    {
        DeviceDescription pf = Topo.Endpoint("pf") with { Vfs = 3 };
        using PcieFabric fabric = FabricBuilder.Build(Topo.Machine(Topo.HostBridge("hb0", Topo.RootPort("rp", pf), Topo.RootPort("rp2", Topo.Endpoint("other")))));
        var vfs = ((PciEndpoint)fabric["pf"]).VirtualFunctions;
        Assert.Equal(new[] { "pf.vf1", "pf.vf2", "pf.vf3" }, vfs.Select(v => v.Name));
        Assert.Equal(fabric["pf"].Bdf.Bus, vfs[2].Bdf.Bus);
        Assert.Equal(3, vfs[2].DevFn);
        byte[] data = RandomBytes(128, 30);

        Assert.True(new DmaPort(fabric, fabric["pf.vf1"]).Write(new DmaAddress(vfs[2].Bars[0].Address + 64), data).IsSuccess);

        Assert.Equal(data, vfs[2].Bars[0].Memory!.GetSpan(64, 128).ToArray());
        Assert.Equal(RoutePath.MultiFunctionPeer, fabric.Route(vfs[0], new DmaAddress(vfs[2].Bars[0].Address), AccessKind.Write).Path);
        Assert.Equal(vfs[0].Bars[0].Address + vfs[0].Bars[0].SizeBytes, vfs[1].Bars[0].Address);

        int sriov = ((PciEndpoint)fabric["pf"]).SriovCapabilityOffset;
        fabric["pf"].Config.Write16(sriov + SriovConfig.Ctrl, SriovConfig.CtrlVfEnable);
        Assert.Equal(RouteStatus.UnsupportedRequest, fabric.Route(fabric["other"], new DmaAddress(vfs[2].Bars[0].Address), AccessKind.Write).Status);
    }
}
