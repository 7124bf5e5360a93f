using System.Collections.Generic;
using System.Linq;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Dma.Tests.P2pDma;

/// <summary>
/// The kernel's verdict against what the fabric does when the client uses the provider's bus address.
/// Mainline Linux counts ACS redirect bits on every device of both paths (spec §2.3); hardware applies them
/// only at the two ports where the paths diverge below the common upstream device: RR or EC on the client's
/// side for the request, CR on the provider's side for a read completion (the refinement of spec §8.2).
/// So: a BUS_ADDR pair always turns around below the root complex; any other pair goes upstream when the
/// divergence ports say so, and otherwise turns around anyway — the kernel being more cautious than the
/// hardware, never less.
/// </summary>
public sealed class HardwareConsistencyTests
{
    public static TheoryData<int, RandomTopology.AcsStyle> Cases
    {
        get
        {
            var cases = new TheoryData<int, RandomTopology.AcsStyle>();
            for (int seed = 101; seed <= 112; seed++)
            {
                cases.Add(seed, RandomTopology.AcsStyle.Linux);
                cases.Add(seed + 100, RandomTopology.AcsStyle.Any);
            }

            return cases;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void BusAddressDma_GoesWhereTheVerdictAndTheDivergencePortsSay(int seed, RandomTopology.AcsStyle acs)
    {
        using PcieFabric fabric = FabricBuilder.Build(RandomTopology.Generate(seed, acs));
        var host = new P2pDmaHost(fabric);
        List<PciEndpoint> endpoints = fabric.Functions.OfType<PciEndpoint>().Where(e => e.Kind != DeviceKind.HostBridge && e.Bars.Count > 0).ToList();
        int checkedPairs = 0;

        foreach (PciEndpoint provider in endpoints)
        {
            foreach (PciEndpoint client in endpoints)
            {
                P2pVerdict verdict = host.Explain(provider, client);
                if (ReferenceEquals(provider, client) || SameRootComplexDevice(verdict))
                {
                    continue;
                }

                var target = new DmaAddress(provider.Bars[0].Address);
                RouteResult write = fabric.Route(client, target, AccessKind.Write);
                RouteResult read = fabric.Route(client, target, AccessKind.Read);
                string pair = $"{client.Name} -> {provider.Name} ({verdict.MapType}): write {write}, read completion redirected at {read.CompletionRedirectedAt?.Name ?? "none"}";
                bool turnedAround = write.IsDelivered && !write.ReachedRootComplex && write.RedirectedAt is null;
                checkedPairs++;
                if (verdict.MapType == PciP2pdmaMapType.BusAddr)
                {
                    Assert.True(turnedAround && read.CompletionRedirectedAt is null, pair);
                }
                else if (verdict.CommonUpstream is null)
                {
                    Assert.True(write.ReachedRootComplex, pair);
                }
                else if (DivergencePorts(verdict) is var (redirect, blocked, completion) && (redirect || blocked || completion))
                {
                    Assert.True(redirect == (write.RedirectedAt is not null), $"request redirect expected {redirect}: {pair}");
                    Assert.True(blocked == (write.Status == RouteStatus.AcsViolation), $"request blocked expected {blocked}: {pair}");
                    if (!redirect && !blocked)
                    {
                        Assert.True(completion && read.CompletionRedirectedAt is not null, $"completion redirect expected: {pair}");
                    }
                }
                else
                {
                    Assert.True(turnedAround && read.CompletionRedirectedAt is null, "the kernel counted redirects the hardware does not apply, yet " + pair);
                }
            }
        }

        Assert.True(checkedPairs > 0);
    }

    [Fact]
    public void RedirectOnlyAtTheCommonNode_KernelGoesThroughTheHostBridge_WhileTheDeviceRoutesInternally()
    {
        // Spec §8.5: the kernel counts the common upstream device's ACS (V4); a multi-function device
        // still delivers between its own functions.
        TopologyDescription topology = SpecTopologies.TwoFunctions(Topo.Acs(SpecTopologies.Linux), 0x2030);
        using PcieFabric fabric = FabricBuilder.Build(topology);
        P2pVerdict verdict = new P2pDmaHost(fabric).Explain(fabric["F0"], fabric["F1"]);

        RouteResult route = fabric.Route(fabric["F1"], new DmaAddress(((PciEndpoint)fabric["F0"]).Bars[0].Address), AccessKind.Write);

        Assert.Equal(PciP2pdmaMapType.ThruHostBridge, verdict.MapType);
        Assert.True(CommonNodeIsTheOnlyRedirect(verdict));
        Assert.Equal(RoutePath.MultiFunctionPeer, route.Path);
    }

    [Fact]
    public void FunctionsOfOneRootComplexIntegratedDevice_KernelHasNoCommonUpstream_WhileTheDeviceRoutesInternally()
    {
        TopologyDescription topology = Topo.Machine(Topo.HostBridge("hb0", Topo.HostDevice(0x8086, 0x2020), (Topo.Endpoint("R") with { Slot = new PciSlot(3, 0) }).WithFunctions(Topo.Endpoint("Rf"))));
        using PcieFabric fabric = FabricBuilder.Build(topology);
        P2pVerdict verdict = new P2pDmaHost(fabric).Explain(fabric["R"], fabric["Rf"]);

        RouteResult route = fabric.Route(fabric["Rf"], new DmaAddress(((PciEndpoint)fabric["R"]).Bars[0].Address), AccessKind.Write);

        Assert.Equal(PciP2pdmaMapType.ThruHostBridge, verdict.MapType);
        Assert.Null(verdict.CommonUpstream);
        Assert.True(KernelIsMoreCautiousThanHardware(verdict));
        Assert.Equal(RoutePath.MultiFunctionPeer, route.Path);
    }

    private static bool CommonNodeIsTheOnlyRedirect(P2pVerdict verdict) =>
        verdict.RedirectingDevices.Count > 0 && verdict.RedirectingDevices.All(d => ReferenceEquals(d, verdict.CommonUpstream));

    private static bool KernelIsMoreCautiousThanHardware(P2pVerdict verdict) =>
        SameRootComplexDevice(verdict) || (CommonNodeIsTheOnlyRedirect(verdict) && DivergencePorts(verdict) == (false, false, false));

    private static bool SameRootComplexDevice(P2pVerdict verdict) =>
        verdict.CommonUpstream is null && verdict.Provider.Bus == verdict.Client.Bus && verdict.Provider.Bus.IsRootBus
        && (verdict.Provider.PhysicalFunction.DevFn >> 3) == (verdict.Client.PhysicalFunction.DevFn >> 3);

    /// <summary>
    /// What the ports where the paths part below the common device do with client-to-provider traffic: the
    /// client's side redirects the request (RR) or blocks it (EC with the target's egress bit, without RR);
    /// the provider's side redirects a read completion (CR).
    /// </summary>
    private static (bool Redirect, bool Blocked, bool Completion) DivergencePorts(P2pVerdict verdict)
    {
        PciFunction clientSide = ChildOnPath(verdict.Client, verdict.CommonUpstream!);
        PciFunction providerSide = ChildOnPath(verdict.Provider, verdict.CommonUpstream!);
        int targetNumber = providerSide is PciBridge ? providerSide.PortNumber : providerSide.DevFn & 7;
        AcsFlags clientAcs = clientSide.AcsCapabilityOffset != 0 ? clientSide.AcsControl : AcsFlags.None;
        bool redirect = (clientAcs & AcsFlags.RR) != 0;
        bool blocked = !redirect && (clientAcs & AcsFlags.EC) != 0 && targetNumber < 32 && (clientSide.AcsEgressVector & (1u << targetNumber)) != 0;
        bool completion = providerSide.AcsCapabilityOffset != 0 && (providerSide.AcsControl & AcsFlags.CR) != 0;
        return (redirect, blocked, completion);
    }

    private static PciFunction ChildOnPath(PciFunction device, PciFunction common)
    {
        PciFunction child = device;
        while (!ReferenceEquals(child.UpstreamBridge, common))
        {
            child = child.UpstreamBridge!;
        }

        return child;
    }
}
