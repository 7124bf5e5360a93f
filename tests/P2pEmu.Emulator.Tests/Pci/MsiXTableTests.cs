using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Registers;
using P2pEmu.Emulator.Tests.Fabric;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Emulator.Tests.Pci;

/// <summary>An endpoint "dev" with a 4-vector MSI-X table in BAR0, driven the way a host driver does: config space and MMIO.</summary>
public sealed class MsiXTableTests : IDisposable
{
    private readonly MsiXTestModels _models = new(4, "dev");
    private readonly PcieFabric _fabric;
    private readonly PciEndpoint _dev;
    private readonly MsiXTable _table;
    private readonly ulong _bar0;

    public MsiXTableTests()
    {
        _fabric = FabricBuilder.Build(
            Topo.Machine(Topo.HostBridge("hb0", Topo.RootPort("rp0", Topo.Endpoint("dev")), Topo.RootPort("rp1", Topo.Endpoint("peer")))),
            _models);
        _dev = (PciEndpoint)_fabric["dev"];
        _table = _models.Tables["dev"];
        _table.Attach(new DmaPort(_fabric, _dev));
        _bar0 = _dev.GetBar(0)!.Address;
    }

    private int Cap => _dev.MsiXCapabilityOffset;

    public void Dispose() => _fabric.Dispose();

    [Fact]
    public void Capability_IsInTheListWithSizeBirAndOffsets_AndOnlyEnableAndFunctionMaskAreWritable()
    {
        Assert.NotEqual(0, Cap);
        Assert.Equal(Cap, CapabilityLayout.Find(_dev.Config, PciConfig.CapIdMsiX));
        Assert.Equal(3, _dev.Config.Read16(Cap + MsiXConfig.Flags)); // Table Size is N - 1
        Assert.Equal(MsiXTestModels.TableOffset | 0u, _dev.Config.Read32(Cap + MsiXConfig.Table)); // BIR 0
        Assert.Equal(MsiXTestModels.PbaOffset | 0u, _dev.Config.Read32(Cap + MsiXConfig.Pba));
        Assert.False(_dev.MsiXEnabled);

        _dev.Config.Write16(Cap + MsiXConfig.Flags, 0xFFFF);
        _dev.Config.Write32(Cap + MsiXConfig.Table, uint.MaxValue);
        _dev.Config.Write32(Cap + MsiXConfig.Pba, uint.MaxValue);

        Assert.Equal(0xC003, _dev.Config.Read16(Cap + MsiXConfig.Flags));
        Assert.Equal(MsiXTestModels.TableOffset, _dev.Config.Read32(Cap + MsiXConfig.Table));
        Assert.Equal(MsiXTestModels.PbaOffset, _dev.Config.Read32(Cap + MsiXConfig.Pba));
        Assert.True(_dev.MsiXEnabled);
        Assert.True(_dev.MsiXFunctionMasked);
        Assert.Equal(4, _dev.MsiXTableSize);
    }

    [Fact]
    public void Capability_IsAbsentWhenTheModelAsksForNone()
    {
        var peer = (PciEndpoint)_fabric["peer"];

        Assert.Equal(0, peer.MsiXCapabilityOffset);
        Assert.Equal(0, CapabilityLayout.Find(peer.Config, PciConfig.CapIdMsiX));
        Assert.Equal(0, peer.MsiXTableSize);
        Assert.False(peer.MsiXEnabled);
    }

    [Theory]
    [InlineData(0x3FF8u, 0x3000u)] // table runs past the BAR
    [InlineData(0x2004u, 0x3000u)] // table not QWORD aligned
    [InlineData(0x2000u, 0x2020u)] // PBA inside the table
    public void Capability_ThatDoesNotFitTheBar_IsRejectedWhenTheFunctionIsBuilt(uint tableOffset, uint pbaOffset)
    {
        var models = new FixedMsiXModels(new MsiXSpec(4, 0, tableOffset, 0, pbaOffset));

        Assert.Throws<ArgumentException>(() => FabricBuilder.Build(Topo.Machine(Topo.HostBridge("hb0", Topo.RootPort("rp0", Topo.Endpoint("dev")))), models));
    }

    [Fact]
    public void Table_StartsMasked_AddressBits1To0ReadZero_ReservedControlBitsAndPbaAreReadOnly()
    {
        for (int vector = 0; vector < 4; vector++)
        {
            Assert.Equal(1u, ReadBar32(Entry(vector) + MsiXConfig.EntryVectorControl));
        }

        WriteBar32(Entry(1) + MsiXConfig.EntryLowerAddress, 0xFEE0_1003);
        WriteBar32(Entry(1) + MsiXConfig.EntryUpperAddress, 0x0000_0012);
        WriteBar32(Entry(1) + MsiXConfig.EntryData, 0xDEAD_BEEF);
        WriteBar32(Entry(1) + MsiXConfig.EntryVectorControl, 0xFFFF_FFFE);
        WriteBar32(MsiXTestModels.PbaOffset, uint.MaxValue);

        Assert.Equal(0xFEE0_1000u, ReadBar32(Entry(1) + MsiXConfig.EntryLowerAddress));
        Assert.Equal(0x12_FEE0_1000UL, _table.MessageAddress(1));
        Assert.Equal(0xDEAD_BEEFu, _table.MessageData(1));
        Assert.Equal(0u, ReadBar32(Entry(1) + MsiXConfig.EntryVectorControl));
        Assert.False(_table.IsMasked(1));
        Assert.True(_table.IsMasked(0));
        Assert.Equal(0u, ReadBar32(MsiXTestModels.PbaOffset));
    }

    [Fact]
    public void Signal_WhileMsiXIsDisabled_IsDropped_AndLeavesNoPendingBit()
    {
        MsiMsg message = Program(0, masked: false);

        Assert.Equal(MsiXSignal.Disabled, _table.Signal(0));

        Assert.Equal(0, _fabric.Msi.Count(message));
        Assert.False(_table.IsPending(0));
        Assert.Equal(0u, ReadBar32(MsiXTestModels.PbaOffset));
        SetControl(MsiXConfig.FlagsEnable);
        Assert.Equal(0, _fabric.Msi.Count(message)); // nothing was pending to deliver on enable
    }

    [Fact]
    public void Signal_EnabledAndUnmasked_DeliversEachVectorToItsOwnHandler()
    {
        MsiMsg one = Program(1, masked: false);
        MsiMsg two = Program(2, masked: false);
        var seen = new List<MsiMsg>();
        _fabric.Msi.SetHandler(one, seen.Add);
        _fabric.Msi.SetHandler(two, seen.Add);
        SetControl(MsiXConfig.FlagsEnable);
        long interruptBytes = _fabric.BytesOnPath(RoutePath.Interrupt);

        Assert.Equal(MsiXSignal.Sent, _table.Signal(1));
        Assert.Equal(MsiXSignal.Sent, _table.Signal(2));
        Assert.Equal(MsiXSignal.Sent, _table.Signal(1));

        Assert.Equal(2, _fabric.Msi.Count(one));
        Assert.Equal(1, _fabric.Msi.Count(two));
        Assert.Equal([one, two, one], seen);
        Assert.Equal(3, _table.MessagesSent);
        Assert.Equal(0, _fabric.Msi.SpuriousCount);
        Assert.Equal(12, _fabric.BytesOnPath(RoutePath.Interrupt) - interruptBytes); // three posted dword writes
    }

    [Fact]
    public void Signal_MaskedVector_SetsItsPendingBit_AndIsDeliveredOnceWhenUnmasked()
    {
        MsiMsg message = Program(3, masked: true);
        SetControl(MsiXConfig.FlagsEnable);

        Assert.Equal(MsiXSignal.Pending, _table.Signal(3));
        Assert.Equal(MsiXSignal.Pending, _table.Signal(3));

        Assert.Equal(0, _fabric.Msi.Count(message));
        Assert.True(_table.IsPending(3));
        Assert.Equal(1u << 3, ReadBar32(MsiXTestModels.PbaOffset));
        Assert.Equal(1UL << 3, ReadBar64(MsiXTestModels.PbaOffset));

        WriteBar32(Entry(3) + MsiXConfig.EntryVectorControl, 0);

        Assert.Equal(1, _fabric.Msi.Count(message)); // the Pending bit is one bit: one message
        Assert.False(_table.IsPending(3));
        Assert.Equal(0u, ReadBar32(MsiXTestModels.PbaOffset));
    }

    [Fact]
    public void Signal_WhileTheFunctionIsMasked_PendsUnmaskedVectors_DeliveredWhenFunctionMaskClears()
    {
        MsiMsg open = Program(0, masked: false);
        MsiMsg closed = Program(1, masked: true);
        SetControl(MsiXConfig.FlagsEnable | MsiXConfig.FlagsMaskAll);

        Assert.Equal(MsiXSignal.Pending, _table.Signal(0));
        Assert.Equal(MsiXSignal.Pending, _table.Signal(1));
        Assert.Equal(0b11u, ReadBar32(MsiXTestModels.PbaOffset));

        SetControl(MsiXConfig.FlagsEnable);

        Assert.Equal(1, _fabric.Msi.Count(open));
        Assert.Equal(0, _fabric.Msi.Count(closed)); // its own Mask bit still holds it
        Assert.Equal(0b10u, ReadBar32(MsiXTestModels.PbaOffset));
    }

    [Fact]
    public void Signal_WithBusMasterEnableClear_FailsAndNothingArrives()
    {
        MsiMsg message = Program(0, masked: false);
        SetControl(MsiXConfig.FlagsEnable);
        _dev.Config.Write16(PciConfig.Command, PciConfig.CommandMemory);

        Assert.Equal(MsiXSignal.Failed, _table.Signal(0));

        Assert.Equal(0, _fabric.Msi.Count(message));
        Assert.Equal(1, _table.MessagesFailed);
        Assert.False(_table.IsPending(0));
    }

    [Fact]
    public void Signal_ThroughAnIommuThatRefusesEverything_IsDelivered_WithoutTranslation()
    {
        MsiMsg message = Program(0, masked: false);
        SetControl(MsiXConfig.FlagsEnable);
        var iommu = new CountingTranslator { Refuse = true };
        _fabric.HostBridges[0].Translator = iommu;

        Assert.Equal(MsiXSignal.Sent, _table.Signal(0));
        Assert.Equal(0, iommu.Calls);
        Assert.Equal(1, _fabric.Msi.Count(message));

        Assert.False(new DmaPort(_fabric, _dev).Write(new DmaAddress(0x1000), new byte[4]).IsSuccess); // DMA does go through it
        Assert.Equal(1, iommu.Calls);
    }

    [Fact]
    public void Route_WriteIntoTheMsiWindow_IsAnInterruptMessageAtTheRootComplex_AReadIsNot()
    {
        var trace = new RouteTrace();
        RouteResult write = _fabric.Route(_dev, new DmaAddress(0xFEE0_0040), AccessKind.Write, trace: trace);
        RouteResult read = _fabric.Route(_dev, new DmaAddress(0xFEE0_0040), AccessKind.Read);

        Assert.Equal(RouteStatus.Delivered, write.Status);
        Assert.Equal(RoutePath.Interrupt, write.Path);
        Assert.Equal(RouteReason.MsiWindow, write.Reason);
        Assert.True(write.ReachedRootComplex);
        Assert.Equal(0xFEE0_0040UL, write.TargetAddress.Value);
        Assert.Contains("MSI window", trace.ToString(), StringComparison.Ordinal);
        Assert.NotEqual(RoutePath.Interrupt, read.Path);
        Assert.False(read.IsDelivered);
    }

    [Fact]
    public void Attach_ToAFunctionWhoseCapabilityDoesNotDescribeTheTable_OrTwice_Throws()
    {
        var other = new MsiXTable(new RegisterBlock(MsiXTestModels.BarBytes), MsiXTestModels.TableOffset, MsiXTestModels.PbaOffset, 8);

        Assert.Throws<InvalidOperationException>(() => other.Attach(new DmaPort(_fabric, _fabric["peer"])));
        Assert.Throws<InvalidOperationException>(() => other.Attach(new DmaPort(_fabric, _dev))); // 8 vectors, the capability says 4
        Assert.Throws<InvalidOperationException>(() => _table.Attach(new DmaPort(_fabric, _dev)));
        Assert.Throws<ArgumentOutOfRangeException>(() => _table.Signal(4));
        Assert.Throws<ArgumentOutOfRangeException>(() => _table.Signal(-1));
    }

    private static uint Entry(int vector) => MsiXTestModels.TableOffset + ((uint)vector * MsiXConfig.EntrySize);

    /// <summary>Allocates a host vector and writes it into table entry <paramref name="vector"/>, as a driver does.</summary>
    private MsiMsg Program(int vector, bool masked)
    {
        MsiMsg message = _fabric.Msi.Allocate().Value;
        WriteBar32(Entry(vector) + MsiXConfig.EntryLowerAddress, message.AddressLo);
        WriteBar32(Entry(vector) + MsiXConfig.EntryUpperAddress, message.AddressHi);
        WriteBar32(Entry(vector) + MsiXConfig.EntryData, message.Data);
        WriteBar32(Entry(vector) + MsiXConfig.EntryVectorControl, masked ? MsiXConfig.EntryCtrlMaskBit : 0);
        return message;
    }

    private void SetControl(ushort control) => _dev.Config.Write16(Cap + MsiXConfig.Flags, control);

    private uint ReadBar32(uint offset)
    {
        Span<byte> bytes = stackalloc byte[4];
        Assert.True(_fabric.TryHostRead(_bar0 + offset, bytes));
        return BinaryPrimitives.ReadUInt32LittleEndian(bytes);
    }

    private ulong ReadBar64(uint offset)
    {
        Span<byte> bytes = stackalloc byte[8];
        Assert.True(_fabric.TryHostRead(_bar0 + offset, bytes));
        return BinaryPrimitives.ReadUInt64LittleEndian(bytes);
    }

    private void WriteBar32(uint offset, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        Assert.True(_fabric.TryHostWrite(_bar0 + offset, bytes));
    }

    /// <summary>Default models with a fixed MSI-X capability (and a 16 KiB register BAR0) for every endpoint.</summary>
    private sealed class FixedMsiXModels(MsiXSpec spec) : IEndpointModelFactory
    {
        public EndpointIdentity Describe(DeviceDescription device) =>
            DefaultEndpointModels.Instance.Describe(device) with
            {
                Bars = [new BarSpec(0, MsiXTestModels.BarBytes, true, false, null, new ReservedRegisterSpace())],
                MsiX = spec,
            };
    }
}
