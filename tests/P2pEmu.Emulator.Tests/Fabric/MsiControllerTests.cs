using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Emulator.Tests.Fabric;

public sealed class MsiControllerTests
{
    private static PcieFabric Build() => FabricBuilder.Build(Topo.Machine(Topo.HostBridge("hb0", Topo.RootPort("rp0", Topo.Endpoint("dev")))));

    [Fact]
    public void Allocate_HandsOutDistinctVectorsInTheWindow_AndAFreedVectorIsReused()
    {
        var msi = new MsiController();

        MsiMsg first = msi.Allocate().Value;
        MsiMsg second = msi.Allocate().Value;
        msi.Free(first);
        MsiMsg third = msi.Allocate().Value;

        Assert.True(MsiController.InWindow(first.Address));
        Assert.Equal(0xFEE0_0000UL, first.Address);
        Assert.Equal(MsiController.FirstDeviceVector, first.Vector);
        Assert.Equal(MsiController.FirstDeviceVector + 1, second.Vector);
        Assert.Equal(first, third);
        Assert.Equal(0u, first.AddressHi);
        Assert.Equal(0xFEE0_0000u, first.AddressLo);
    }

    [Fact]
    public void Allocate_WhenADestinationRunsOut_IsEnospc_AndTheAnyDestinationAllocatorMovesOn()
    {
        var msi = new MsiController();
        int perDestination = MsiController.LastDeviceVector - MsiController.FirstDeviceVector + 1;
        var seen = new HashSet<MsiMsg>();
        for (int i = 0; i < perDestination; i++)
        {
            Assert.True(seen.Add(msi.Allocate(7).Value));
        }

        Result<MsiMsg> none = msi.Allocate(7);
        MsiMsg elsewhere = msi.Allocate().Value;

        Assert.Equal(Errno.ENOSPC, none.Error);
        Assert.All(seen, m => Assert.Equal(7, m.DestinationId));
        Assert.Equal(0, elsewhere.DestinationId);
        Assert.Throws<ArgumentOutOfRangeException>(() => msi.Allocate(256));
    }

    [Fact]
    public void FreeOrSetHandler_OnAVectorNotAllocated_Throws()
    {
        var msi = new MsiController();
        var stray = new MsiMsg(0xFEE0_0000, 0x40);

        Assert.Throws<ArgumentException>(() => msi.Free(stray));
        Assert.Throws<ArgumentException>(() => msi.SetHandler(stray, _ => { }));
        Assert.Equal(0, msi.Count(stray));
    }

    [Fact]
    public void DeviceWriteOfAnAllocatedMessage_RunsItsHandler_AndCountsIt()
    {
        using PcieFabric fabric = Build();
        MsiMsg message = fabric.Msi.Allocate().Value;
        var seen = new List<MsiMsg>();
        fabric.Msi.SetHandler(message, seen.Add);
        var port = new DmaPort(fabric, fabric["dev"]);

        Assert.True(Send(port, message.Address, message.Data).IsSuccess);
        fabric.Msi.SetHandler(message, null);
        Assert.True(Send(port, message.Address, message.Data).IsSuccess);

        Assert.Equal([message], seen);
        Assert.Equal(2, fabric.Msi.Count(message));
        Assert.Equal(2, fabric.Msi.DeliveredCount);
        Assert.Equal(0, fabric.Msi.SpuriousCount);
    }

    [Fact]
    public void WritesToTheWindowThatMatchNoVector_AreRecordedAsSpurious_NotThrown()
    {
        using PcieFabric fabric = Build();
        MsiMsg message = fabric.Msi.Allocate().Value;
        var port = new DmaPort(fabric, fabric["dev"]);

        Assert.True(Send(port, message.Address | (1UL << 12), message.Data).IsSuccess); // destination 1: nothing allocated
        Assert.True(Send(port, message.Address, 0x99).IsSuccess); // vector 0x99: not allocated
        Assert.True(Send(port, message.Address, message.Data | 0x400).IsSuccess); // delivery mode NMI
        Assert.True(port.Write(new DmaAddress(message.Address + 8), new byte[8]).IsSuccess); // not one dword
        fabric.Msi.Free(message);
        Assert.True(Send(port, message.Address, message.Data).IsSuccess); // freed

        Assert.Equal(5, fabric.Msi.SpuriousCount);
        Assert.Equal(0, fabric.Msi.DeliveredCount);
        IReadOnlyList<SpuriousMsi> spurious = fabric.Msi.SpuriousMessages;
        Assert.Equal(new SpuriousMsi(0xFEE0_1000, message.Data, 4), spurious[0]);
        Assert.Equal(new SpuriousMsi(0xFEE0_0000, 0x99, 4), spurious[1]);
        Assert.Equal(8, spurious[3].SizeBytes);
        Assert.Equal(0xFEE0_0008UL, spurious[3].Address);
    }

    [Fact]
    public void SpuriousHistory_KeepsTheNewestMessages_AndCountsAll()
    {
        using PcieFabric fabric = Build();
        var port = new DmaPort(fabric, fabric["dev"]);

        for (uint i = 0; i < MsiController.SpuriousHistory + 10; i++)
        {
            Send(port, MsiController.WindowBase + 0xF000, i);
        }

        Assert.Equal(MsiController.SpuriousHistory + 10, fabric.Msi.SpuriousCount);
        Assert.Equal(MsiController.SpuriousHistory, fabric.Msi.SpuriousMessages.Count);
        Assert.Equal(10u, fabric.Msi.SpuriousMessages[0].Data);
    }

    private static DmaResult Send(DmaPort port, ulong address, uint data)
    {
        byte[] bytes = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, data);
        return port.Write(new DmaAddress(address), bytes);
    }
}
