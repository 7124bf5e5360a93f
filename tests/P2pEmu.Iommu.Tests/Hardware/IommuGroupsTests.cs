using System.Collections.Generic;
using System.Linq;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Iommu.Hardware;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Iommu.Tests.Hardware;

/// <summary>IOMMU groups as Linux's <c>pci_device_group</c> forms them, and where the routing says they leak.</summary>
public sealed class IommuGroupsTests
{
    private const AcsFlags Isolating = AcsIsolation.RequiredFlags;

    private static TopologyDescription Machine(params DeviceDescription[] devices) =>
        Topo.Machine(Topo.HostBridge("hb0", 0, 0, false, new[] { Topo.HostDevice() }.Concat(devices).ToArray()) with { Iommu = IommuMode.Translate });

    private static string[] Names(IommuGroups groups, PcieFabric fabric, string member) =>
        groups.GroupOf(fabric[member]).Members.Select(f => f.Name).ToArray();

    [Fact]
    public void Compute_IsolatingAcsEverywhere_GivesEveryFunctionItsOwnGroup_NumberedInProbeOrder()
    {
        using PcieFabric fabric = FabricBuilder.Build(IommuMachine.Switched(IommuMode.Translate));

        IommuGroups groups = IommuGroups.Compute(fabric);

        Assert.Equal(fabric.Functions.Count, groups.Groups.Count);
        for (int i = 0; i < groups.Groups.Count; i++)
        {
            Assert.Equal(i, groups.Groups[i].Id);
            Assert.Same(fabric.Functions[i], Assert.Single(groups.Groups[i].Members));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Compute_RootPortWithoutAcs_PutsItsWholeHierarchyInItsGroup(bool acsCapabilityPresent)
    {
        DeviceDescription sw = Topo.Switch("sw0", Topo.Port("dp0", Isolating, Topo.Endpoint("a")), Topo.Port("dp1", Isolating, Topo.Endpoint("b")));
        DeviceDescription rp1 = acsCapabilityPresent ? Topo.RootPort("rp1", AcsFlags.None, sw) : Topo.RootPort("rp1", sw);
        using PcieFabric fabric = FabricBuilder.Build(Machine(rp1, Topo.RootPort("rp2", Isolating, Topo.Endpoint("c"))));

        IommuGroups groups = IommuGroups.Compute(fabric);

        Assert.Equal(new[] { "rp1", "sw0.up", "dp0", "dp1", "a", "b" }, Names(groups, fabric, "a"));
        Assert.Equal(new[] { "c" }, Names(groups, fabric, "c"));
        Assert.Equal(new[] { "rp2" }, Names(groups, fabric, "rp2"));
    }

    [Fact]
    public void Compute_DownstreamPortWithoutAcs_JoinsItsDeviceToThePortsGroup()
    {
        using PcieFabric fabric = FabricBuilder.Build(Machine(
            Topo.RootPort("rp1", Isolating, Topo.Switch("sw0", Topo.Port("dp0", Isolating, Topo.Endpoint("a")), Topo.Port("dp1", Topo.Endpoint("b"))))));

        IommuGroups groups = IommuGroups.Compute(fabric);

        Assert.Equal(new[] { "dp1", "b" }, Names(groups, fabric, "b"));
        Assert.Equal(new[] { "a" }, Names(groups, fabric, "a"));
        Assert.Equal(new[] { "dp0" }, Names(groups, fabric, "dp0"));
    }

    /// <summary>
    /// The kernel hole (cover letter of "Fix incorrect iommu_groups with PCIe ACS", 2025): b's port has no ACS, so b reaches
    /// a's BAR inside the switch, yet Linux gives a its own group. The widened policy closes it.
    /// </summary>
    [Fact]
    public void Compute_MixedAcsSwitch_LinuxGroupsLeak_WidenedGroupsDoNot()
    {
        using PcieFabric fabric = FabricBuilder.Build(Machine(
            Topo.RootPort("rp1", Isolating, Topo.Switch("sw0", Topo.Port("dp0", Isolating, Topo.Endpoint("a")), Topo.Port("dp1", Topo.Endpoint("b"))))));
        PciBar aBar = ((PciEndpoint)fabric["a"]).Bars[0];

        RouteResult leak = fabric.Route(fabric["b"], new DmaAddress(aBar.Address), AccessKind.Write);
        RouteResult back = fabric.Route(fabric["a"], new DmaAddress(((PciEndpoint)fabric["b"]).Bars[0].Address), AccessKind.Write);

        Assert.True(leak.IsDelivered && !leak.ReachedRootComplex, leak.ToString());
        Assert.True(back.ReachedRootComplex, back.ToString());
        Assert.False(IommuGroups.Compute(fabric).AreInSameGroup(fabric["a"], fabric["b"]));
        IommuGroups widened = IommuGroups.Compute(fabric, IommuGroupPolicy.WidenedByReachability);
        Assert.Equal(IommuGroupPolicy.WidenedByReachability, widened.Policy);
        Assert.Equal(new[] { "dp1", "a", "b" }, Names(widened, fabric, "a"));
        Assert.True(widened.AreInSameGroup(fabric["a"], fabric["b"]));
        Assert.Equal(Enumerable.Range(0, widened.Groups.Count), widened.Groups.Select(g => g.Id));
    }

    [Fact]
    public void Compute_MultiFunctionDevice_SharesAGroupUnlessEveryFunctionIsIsolated()
    {
        using PcieFabric fabric = FabricBuilder.Build(Machine(
            Topo.RootPort("rp1", Isolating, Topo.Endpoint("m").WithFunctions(Topo.Endpoint("m.f1"), Topo.Endpoint("m.f2"))),
            Topo.RootPort("rp2", Isolating, Topo.Endpoint("n").WithAcs(Isolating).WithFunctions(Topo.Endpoint("n.f1").WithAcs(Isolating))),
            Topo.RootPort("rp3", Isolating, Topo.Endpoint("o").WithFunctions(Topo.Endpoint("o.f1"), Topo.Endpoint("o.f2").WithAcs(Isolating)))));

        IommuGroups groups = IommuGroups.Compute(fabric);

        Assert.True(AcsIsolation.IsMultiFunction(fabric["m.f2"]));
        Assert.Equal(new[] { "m", "m.f1", "m.f2" }, Names(groups, fabric, "m.f1"));
        Assert.Equal(new[] { "n" }, Names(groups, fabric, "n"));
        Assert.Equal(new[] { "n.f1" }, Names(groups, fabric, "n.f1"));

        // Linux: the isolated function gets its own group although its siblings can reach it (o.f1 has no RR).
        Assert.Equal(new[] { "o", "o.f1" }, Names(groups, fabric, "o"));
        Assert.Equal(new[] { "o.f2" }, Names(groups, fabric, "o.f2"));
        IommuGroups widened = IommuGroups.Compute(fabric, IommuGroupPolicy.WidenedByReachability);
        Assert.Equal(new[] { "o", "o.f1", "o.f2" }, Names(widened, fabric, "o.f2"));
        Assert.Equal(new[] { "n" }, Names(widened, fabric, "n"));
    }

    [Fact]
    public void Compute_VirtualFunctions_GetTheirOwnGroupsUnderAnIsolatedPath_AndJoinThePortOtherwise()
    {
        using PcieFabric fabric = FabricBuilder.Build(Machine(
            Topo.RootPort("rp1", Isolating, Topo.Endpoint("p") with { Vfs = 2 }),
            Topo.RootPort("rp2", Topo.Endpoint("q") with { Vfs = 1 })));

        IommuGroups groups = IommuGroups.Compute(fabric);

        Assert.False(AcsIsolation.IsMultiFunction(fabric["p.vf1"]));
        Assert.Equal(new[] { "p" }, Names(groups, fabric, "p"));
        Assert.Equal(new[] { "p.vf1" }, Names(groups, fabric, "p.vf1"));
        Assert.Equal(new[] { "p.vf2" }, Names(groups, fabric, "p.vf2"));
        Assert.Equal(new[] { "rp2", "q", "q.vf1" }, Names(groups, fabric, "q.vf1"));

        // The fabric delivers a VF's request to its PF's BAR inside the device (VFs have no ACS), so widening merges them.
        Assert.Equal(new[] { "p", "p.vf1", "p.vf2" }, Names(IommuGroups.Compute(fabric, IommuGroupPolicy.WidenedByReachability), fabric, "p"));
    }

    [Fact]
    public void Compute_MultiFunctionIntegratedEndpointWithoutAcs_SharesAGroup()
    {
        using PcieFabric fabric = FabricBuilder.Build(Machine((Topo.Endpoint("r") with { Slot = new PciSlot(4, 0) }).WithFunctions(Topo.Endpoint("r.f1")), Topo.Endpoint("s")));

        IommuGroups groups = IommuGroups.Compute(fabric);

        Assert.Equal(new[] { "r", "r.f1" }, Names(groups, fabric, "r"));
        Assert.Equal(new[] { "s" }, Names(groups, fabric, "s"));
    }

    [Fact]
    public void Compute_SkipsHostBridgesWithTheIommuOff()
    {
        using PcieFabric fabric = FabricBuilder.Build(Topo.Machine(
            Topo.HostBridge("hb0", 0, 0, false, Topo.RootPort("rp0", Topo.Endpoint("x"))) with { Iommu = IommuMode.Passthrough },
            Topo.HostBridge("hb1", 1, 0, false, Topo.RootPort("rp1", Topo.Endpoint("y")))));

        IommuGroups groups = IommuGroups.Compute(fabric);

        Assert.Equal(new[] { "rp0", "x" }, Names(groups, fabric, "x"));
        Assert.False(groups.TryGetGroup(fabric["y"], out _));
        Assert.Throws<KeyNotFoundException>(() => groups.GroupOf(fabric["rp1"]));
        Assert.Single(groups.Groups);
    }

    [Fact]
    public void Compute_FollowsAcsChangesSoftwareMakes()
    {
        using PcieFabric fabric = FabricBuilder.Build(IommuMachine.Switched(IommuMode.Translate));
        Assert.False(IommuGroups.Compute(fabric).AreInSameGroup(fabric["a"], fabric["b"]));
        PciFunction rp1 = fabric["rp1"];

        rp1.Config.Write16(rp1.AcsCapabilityOffset + AcsConfig.Control, 0);

        Assert.True(IommuGroups.Compute(fabric).AreInSameGroup(fabric["a"], fabric["b"]));
    }

    [Fact]
    public void AcsIsolation_FlagsTheCapabilityLacks_AreNotRequired()
    {
        using PcieFabric fabric = FabricBuilder.Build(Machine(
            Topo.RootPort("rp1", Isolating, Topo.Switch("sw0",
                Topo.Port("noUf", new AcsDescription(AcsFlags.SV | AcsFlags.RR | AcsFlags.CR, AcsFlags.SV | AcsFlags.RR | AcsFlags.CR, 0), Topo.Endpoint("a")),
                Topo.Port("ufOff", new AcsDescription(AcsFlags.All, AcsFlags.SV | AcsFlags.RR | AcsFlags.CR, 0), Topo.Endpoint("b"))))));

        Assert.True(AcsIsolation.IsEnabled(fabric["noUf"], Isolating));
        Assert.False(AcsIsolation.IsEnabled(fabric["ufOff"], Isolating));
        Assert.True(AcsIsolation.IsEnabled(fabric["a"], Isolating));
        Assert.True(AcsIsolation.IsEnabled(fabric["sw0.up"], Isolating));
        Assert.True(AcsIsolation.IsPathEnabled(fabric["noUf"], null, Isolating));
        Assert.False(AcsIsolation.IsPathEnabled(fabric["ufOff"], null, Isolating));
        Assert.True(AcsIsolation.IsPathEnabled(fabric["a"], fabric["noUf"], Isolating));
        Assert.False(AcsIsolation.IsPathEnabled(fabric["b"], fabric["rp1"], Isolating));
        Assert.False(AcsIsolation.IsPathEnabled(fabric["a"], fabric["rp1"], AcsFlags.EC));
    }

    /// <summary>
    /// With no ACS anywhere Linux's groups have no hole: every pair of functions that reach each other without the IOMMU
    /// shares a group, except a VF and the rest of its own device. Linux assumes those are isolated (a VF has no
    /// multi-function bit, and by the SR-IOV rules a function without ACS does not do internal peer to peer), while the
    /// fabric delivers a VF's request to its PF's BAR inside the device.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Compute_RandomTopologyWithoutAcs_LinuxGroupsHoldEveryReachablePairButSriovSiblings(int seed)
    {
        using PcieFabric fabric = FabricBuilder.Build(IommuMachine.WithIommu(RandomTopology.Generate(seed, RandomTopology.AcsStyle.None), IommuMode.Translate));
        IommuGroups linux = IommuGroups.Compute(fabric);
        PciEndpoint[] endpoints = fabric.Functions.OfType<PciEndpoint>().ToArray();

        int reachable = 0;
        foreach (PciEndpoint requester in endpoints)
        {
            foreach (PciEndpoint target in endpoints)
            {
                bool reaches = target.Bars.Any(bar => bar.Decoding
                    && fabric.Route(requester, new DmaAddress(bar.Address), AccessKind.Write) is { IsDelivered: true, ReachedRootComplex: false });
                bool sriovSiblings = (requester.IsVirtualFunction || target.IsVirtualFunction)
                    && ReferenceEquals(requester.Bus, target.Bus)
                    && (requester.PhysicalFunction.DevFn >> 3) == (target.PhysicalFunction.DevFn >> 3);
                if (reaches && !ReferenceEquals(requester, target))
                {
                    reachable++;
                    Assert.True(linux.AreInSameGroup(requester, target) || sriovSiblings, $"{requester.Name} reaches {target.Name} across groups");
                }
            }
        }

        Assert.True(reachable > 0);
    }

    /// <summary>
    /// Property: with the IOMMU translating and nothing mapped, no function can write to a BAR of a function in another
    /// (widened) group: the request either reaches the IOMMU and faults or is stopped on the way, and no byte changes.
    /// </summary>
    [Theory]
    [InlineData(11, RandomTopology.AcsStyle.Linux)]
    [InlineData(12, RandomTopology.AcsStyle.Linux)]
    [InlineData(13, RandomTopology.AcsStyle.Any)]
    [InlineData(14, RandomTopology.AcsStyle.Any)]
    public void Write_AcrossWidenedGroups_NeverLands(int seed, RandomTopology.AcsStyle style)
    {
        using PcieFabric fabric = FabricBuilder.Build(IommuMachine.WithIommu(RandomTopology.Generate(seed, style), IommuMode.Translate));
        IommuUnit.InstallAll(fabric, new HostPageAllocator(fabric));
        IommuGroups groups = IommuGroups.Compute(fabric, IommuGroupPolicy.WidenedByReachability);
        FabricSnapshot before = FabricSnapshot.FillAndCapture(fabric, 4096, seed);
        PciEndpoint[] endpoints = fabric.Functions.OfType<PciEndpoint>().ToArray();

        int crossings = 0;
        foreach (PciEndpoint requester in endpoints)
        {
            var port = new DmaPort(fabric, requester);
            foreach (PciEndpoint target in endpoints)
            {
                if (groups.AreInSameGroup(requester, target))
                {
                    continue;
                }

                foreach (PciBar bar in target.Bars.Where(b => b.Decoding && b.Memory is not null))
                {
                    DmaResult result = port.Write(new DmaAddress(bar.Address), new byte[16]);
                    Assert.False(result.IsSuccess, $"{requester.Name} reached {bar} outside its group: {result}");
                    crossings++;
                }
            }
        }

        Assert.True(crossings > 0);
        Assert.Empty(before.ChangedOutside(null, 0, 0));
    }
}
