using System;
using System.Linq;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Emulator.Tests.Pci;

public sealed class ConfigSpaceTests
{
    private static PcieFabric Build(params DeviceDescription[] devices) =>
        FabricBuilder.Build(Topo.Machine(Topo.HostBridge("hb0", new[] { Topo.HostDevice() }.Concat(devices).ToArray())));

    [Fact]
    public void Write_ReadOnlyAndWritableBits_HonourTheMask()
    {
        var config = new ConfigSpace();
        config.Set16(0x40, 0xABCD);
        config.SetWritable(0x40, 2, 0x0FF0);

        config.Write16(0x40, 0x1234);

        Assert.Equal(0xA23D, config.Read16(0x40));
    }

    [Fact]
    public void Write_WriteOneToClearBits_ClearOnlyWhereOnesAreWritten()
    {
        var config = new ConfigSpace();
        config.Set16(PciConfig.Status, 0xF910);
        config.SetWriteOneToClear(PciConfig.Status, 2, PciConfig.StatusErrorBits);

        config.Write16(PciConfig.Status, 0x8100);

        Assert.Equal(0x7810, config.Read16(PciConfig.Status));
    }

    [Fact]
    public void Access_PastTheEndOfTheSpace_Throws()
    {
        var config = new ConfigSpace();
        Assert.Throws<ArgumentOutOfRangeException>(() => config.Read32(4094));
        Assert.Throws<ArgumentOutOfRangeException>(() => config.Write8(-1, 0));
    }

    [Theory]
    [InlineData(4096UL, false, false)]
    [InlineData(1UL << 20, true, true)]
    [InlineData(8UL << 30, true, true)]
    public void BarSizing_WriteAllOnes_ReadsBackTheSizeMaskAndType(ulong size, bool is64Bit, bool prefetchable)
    {
        DeviceDescription ep = new("ep", DeviceKind.Endpoint, "$.ep") { Bars = new[] { new BarDescription(0, size, prefetchable, is64Bit) } };
        using PcieFabric fabric = Build(Topo.RootPort("rp", ep));
        ConfigSpace config = fabric["ep"].Config;
        ulong original = config.Read32(PciConfig.Bar0) | (is64Bit ? (ulong)config.Read32(PciConfig.Bar0 + 4) << 32 : 0);

        config.Write32(PciConfig.Bar0, uint.MaxValue);
        uint low = config.Read32(PciConfig.Bar0);
        ulong mask = low & PciConfig.BarMemMask;
        if (is64Bit)
        {
            config.Write32(PciConfig.Bar0 + 4, uint.MaxValue);
            mask |= (ulong)config.Read32(PciConfig.Bar0 + 4) << 32;
        }
        else
        {
            mask |= 0xFFFF_FFFF_0000_0000;
        }

        Assert.Equal(size, ~mask + 1);
        Assert.Equal(is64Bit ? PciConfig.BarMemType64 : 0, low & PciConfig.BarMemTypeMask);
        Assert.Equal(prefetchable, (low & PciConfig.BarPrefetch) != 0);
        Assert.NotEqual(0UL, original & ~0xFUL);
    }

    [Fact]
    public void Header_VendorDeviceClassAndType_AreReadOnly()
    {
        using PcieFabric fabric = Build(Topo.RootPort("rp", Topo.Endpoint("ep")));
        ConfigSpace config = fabric["ep"].Config;

        config.Write32(PciConfig.VendorId, 0x11112222);
        config.Write32(PciConfig.RevisionId, 0);
        config.Write8(PciConfig.HeaderType, 0x7F);

        Assert.Equal(0x1B36, config.Read16(PciConfig.VendorId));
        Assert.Equal(0x0005, config.Read16(PciConfig.DeviceId));
        Assert.Equal(0x00FF00u, config.Read32(PciConfig.RevisionId) >> 8);
        Assert.Equal(PciConfig.HeaderTypeNormal, config.Read8(PciConfig.HeaderType));
        Assert.Equal(PciConfig.HeaderTypeBridge, fabric["rp"].Config.Read8(PciConfig.HeaderType));
    }

    [Fact]
    public void CapabilityWalk_FindsExpressWithTheRightPortTypeForEveryFunction()
    {
        using PcieFabric fabric = Build(
            Topo.RootPort("rp", Topo.Switch("sw", Topo.Port("dp", Topo.Endpoint("ep")))),
            Topo.Endpoint("rciep"));
        (string Name, PciExpressPortType Type)[] expected =
        {
            ("rp", PciExpressPortType.RootPort),
            ("sw.up", PciExpressPortType.UpstreamPort),
            ("dp", PciExpressPortType.DownstreamPort),
            ("ep", PciExpressPortType.Endpoint),
            ("rciep", PciExpressPortType.RootComplexIntegratedEndpoint),
        };

        foreach ((string name, PciExpressPortType type) in expected)
        {
            ConfigSpace config = fabric[name].Config;
            int express = CapabilityLayout.Find(config, PciConfig.CapIdExpress);
            Assert.NotEqual(0, express);
            Assert.Equal((int)type, (config.Read16(express + PciExpressConfig.Flags) >> 4) & 0xF);
            Assert.Equal(2, config.Read16(express + PciExpressConfig.Flags) & 0xF);
        }
    }

    [Fact]
    public void AcsCapability_HoldsCapabilityControlAndEgressVector_AndControlIsWritableWithinCapability()
    {
        var acs = new AcsDescription(AcsFlags.SV | AcsFlags.RR | AcsFlags.CR | AcsFlags.EC, AcsFlags.RR | AcsFlags.EC, 0x5) { EgressVectorBits = 8 };
        using PcieFabric fabric = Build(Topo.RootPort("rp", Topo.Switch("sw", Topo.Port("dp", acs, Topo.Endpoint("ep")))));
        PciFunction dp = fabric["dp"];
        int offset = CapabilityLayout.FindExtended(dp.Config, PciConfig.ExtCapIdAcs);

        Assert.Equal(dp.AcsCapabilityOffset, offset);
        Assert.Equal(0x082D, dp.Config.Read16(offset + AcsConfig.Capability));
        Assert.Equal(0x0024, dp.Config.Read16(offset + AcsConfig.Control));
        Assert.Equal(0x5u, dp.Config.Read32(offset + AcsConfig.EgressVector));

        dp.Config.Write16(offset + AcsConfig.Control, 0x007F);
        Assert.Equal(0x002D, dp.Config.Read16(offset + AcsConfig.Control));
        Assert.Equal(AcsFlags.SV | AcsFlags.RR | AcsFlags.CR | AcsFlags.EC, dp.AcsControl);
        Assert.Equal(0, CapabilityLayout.FindExtended(fabric["ep"].Config, PciConfig.ExtCapIdAcs));
    }

    [Fact]
    public void SriovCapability_DescribesTheVfs_AndVfsReadAllOnesIds()
    {
        DeviceDescription pf = Topo.Endpoint("pf").WithFunctions(Topo.Endpoint("f1")) with { Vfs = 8 };
        using PcieFabric fabric = Build(Topo.RootPort("rp", pf));
        var endpoint = (PciEndpoint)fabric["pf"];
        int sriov = CapabilityLayout.FindExtended(endpoint.Config, PciConfig.ExtCapIdSriov);

        Assert.Equal(endpoint.SriovCapabilityOffset, sriov);
        Assert.Equal(8, endpoint.Config.Read16(sriov + SriovConfig.TotalVf));
        Assert.Equal(8, endpoint.Config.Read16(sriov + SriovConfig.NumVf));
        int offset = endpoint.Config.Read16(sriov + SriovConfig.VfOffset);
        int stride = endpoint.Config.Read16(sriov + SriovConfig.VfStride);
        Assert.Equal(2, offset);
        for (int i = 0; i < 8; i++)
        {
            PciEndpoint vf = endpoint.VirtualFunctions[i];
            Assert.Equal(endpoint.DevFn + offset + (i * stride), vf.DevFn);
            Assert.Equal(0xFFFF, vf.Config.Read16(PciConfig.VendorId));
        }

        Assert.Equal(PciConfig.HeaderTypeMultiFunction, endpoint.Config.Read8(PciConfig.HeaderType) & PciConfig.HeaderTypeMultiFunction);
        Assert.True((fabric["rp"].Config.Read16(fabric["rp"].ExpressCapabilityOffset + PciExpressConfig.DevCtl2) & PciExpressConfig.DevCtl2Ari) != 0);
    }
}
