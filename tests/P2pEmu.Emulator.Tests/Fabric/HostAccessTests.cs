using System.Buffers.Binary;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Emulator.Tests.Fabric;

public sealed class HostAccessTests
{
    private static PcieFabric Build() => FabricBuilder.Build(Topo.Machine(Topo.HostBridge("hb0",
        Topo.RootPort("rp", AcsFlags.RR | AcsFlags.CR, Topo.Switch("sw", Topo.Port("dp0", AcsFlags.RR, Topo.Endpoint("a")))))));

    [Fact]
    public void HostWriteThenRead_ReachesRamAndBars_IgnoringAcs()
    {
        using PcieFabric fabric = Build();
        PciBar bar = ((PciEndpoint)fabric["a"]).Bars[0];
        byte[] data = { 1, 2, 3, 4, 5 };
        byte[] back = new byte[5];

        Assert.True(fabric.TryHostWrite(bar.Address + 10, data));
        Assert.True(fabric.TryHostRead(bar.Address + 10, back));
        Assert.Equal(data, back);
        Assert.Equal(data, bar.Memory!.GetSpan(10, 5).ToArray());

        Assert.True(fabric.TryHostWrite(0x2000, data));
        Assert.Equal(data, fabric.Ram.Region.GetSpan(0x2000, 5).ToArray());
    }

    [Fact]
    public void HostRead_UnclaimedAddress_ReadsAllOnesAndFails_WriteChangesNothing()
    {
        using PcieFabric fabric = Build();
        byte[] back = new byte[8];
        FabricSnapshot before = FabricSnapshot.FillAndCapture(fabric, 4096, seed: 3);

        Assert.False(fabric.TryHostRead(FabricBuilder.Memory32End - 0x100, back));
        Assert.All(back, b => Assert.Equal(0xFF, b));
        Assert.False(fabric.TryHostWrite(FabricBuilder.Memory32End - 0x100, new byte[8]));
        Assert.Empty(before.ChangedOutside(null, 0, 0));
    }

    [Fact]
    public void HostRead_MemoryDecodeOff_IsUnclaimed()
    {
        using PcieFabric fabric = Build();
        ulong address = ((PciEndpoint)fabric["a"]).Bars[0].Address;
        fabric["a"].Config.Write16(PciConfig.Command, PciConfig.CommandMaster);

        Assert.False(fabric.TryHostRead(address, new byte[4]));
    }

    [Fact]
    public void HostCompareExchange64_StoresOnlyOverTheExpectedValue_AndOnlyInAlignedRam()
    {
        using PcieFabric fabric = Build();
        PciBar bar = ((PciEndpoint)fabric["a"]).Bars[0];
        BinaryPrimitives.WriteUInt64LittleEndian(fabric.Ram.Region.GetSpan(0x3000, 8), 0x1111);

        Assert.True(fabric.TryHostCompareExchange64(0x3000, 0x2222, 0x3333, out ulong found));
        Assert.Equal(0x1111UL, found);
        Assert.Equal(0x1111UL, BinaryPrimitives.ReadUInt64LittleEndian(fabric.Ram.Region.GetSpan(0x3000, 8)));

        Assert.True(fabric.TryHostCompareExchange64(0x3000, 0x1111, 0x3333, out found));
        Assert.Equal(0x1111UL, found);
        Assert.Equal(0x3333UL, BinaryPrimitives.ReadUInt64LittleEndian(fabric.Ram.Region.GetSpan(0x3000, 8)));

        // Misaligned, or a BAR: refused even with the right expected value, and nothing changes.
        FabricSnapshot before = FabricSnapshot.FillAndCapture(fabric, 0x4000, seed: 5);
        ulong misaligned = BinaryPrimitives.ReadUInt64LittleEndian(fabric.Ram.Region.GetSpan(0x3004, 8));
        ulong inBar = BinaryPrimitives.ReadUInt64LittleEndian(bar.Memory!.GetSpan(0, 8));
        Assert.False(fabric.TryHostCompareExchange64(0x3004, misaligned, ~misaligned, out _));
        Assert.False(fabric.TryHostCompareExchange64(bar.Address, inBar, ~inBar, out _));
        Assert.Empty(before.ChangedOutside(null, 0, 0));
    }

    [Theory]
    [InlineData(0x4000UL)]
    [InlineData(0x4003UL)]
    public void Host64BitLoadAndStore_AreLittleEndian_InRamAtAnyAlignment_AndInBars(ulong ramAddress)
    {
        using PcieFabric fabric = Build();
        ulong barAddress = ((PciEndpoint)fabric["a"]).Bars[0].Address + 8;

        foreach (ulong address in new[] { ramAddress, barAddress })
        {
            Assert.True(fabric.TryHostWrite64(address, 0x0807_0605_0403_0201));
            byte[] bytes = new byte[8];
            Assert.True(fabric.TryHostRead(address, bytes));
            Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }, bytes);
            Assert.True(fabric.TryHostRead64(address, out ulong value));
            Assert.Equal(0x0807_0605_0403_0201UL, value);
        }
    }

    [Fact]
    public void Host64BitLoad_Unclaimed_ReadsAllOnesAndFails_StoreChangesNothing()
    {
        using PcieFabric fabric = Build();
        FabricSnapshot before = FabricSnapshot.FillAndCapture(fabric, 4096, seed: 9);

        Assert.False(fabric.TryHostRead64(FabricBuilder.Memory32End - 0x100, out ulong value));
        Assert.Equal(ulong.MaxValue, value);
        Assert.False(fabric.TryHostWrite64(FabricBuilder.Memory32End - 0x100, 0));
        Assert.Empty(before.ChangedOutside(null, 0, 0));
    }
}
