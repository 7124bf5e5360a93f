using System;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Emulator.Tests.Fabric;

[Collection(ProcessWideStateCollection.Name)]
public sealed class LazyCommitTests
{
    [Fact]
    public void Build_SixtyFourGibibytesOfBarsAndRam_IsLazilyCommitted()
    {
        DeviceDescription Big(string name) => new(name, DeviceKind.Endpoint, "$." + name) { Bars = new[] { new BarDescription(0, 16UL << 30, true, true) } };
        TopologyDescription topology = Topo.Machine(Topo.HostBridge("hb0", Topo.RootPort("rp0", Big("g0")), Topo.RootPort("rp1", Big("g1")), Topo.RootPort("rp2", Big("g2"))))
            with { Platform = PlatformDescription.Default with { RamBytes = 16UL << 30 } };
        long before = Environment.WorkingSet;

        using PcieFabric fabric = FabricBuilder.Build(topology);
        ((PciEndpoint)fabric["g2"]).Bars[0].Memory!.GetSpan((16UL << 30) - 4096, 4096).Fill(0xA5);

        Assert.True(Environment.WorkingSet - before < 512L << 20, $"working set grew by {(Environment.WorkingSet - before) >> 20} MiB");
        Assert.Equal(0xA5, ((PciEndpoint)fabric["g2"]).Bars[0].Memory!.GetSpan((16UL << 30) - 1, 1)[0]);
        Assert.True(fabric.TryFindRam(PcieFabric.HighRamBase + (14UL << 30) - 1, out ulong offset, out _));
        Assert.Equal((16UL << 30) - 1, offset);
    }
}
