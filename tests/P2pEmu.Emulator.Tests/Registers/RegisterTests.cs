using System;
using System.Collections.Generic;
using P2pEmu.Emulator.Registers;
using Xunit;

namespace P2pEmu.Emulator.Tests.Registers;

public sealed class RegisterTests
{
    private const uint Offset = 0x20;

    private readonly RegisterBlock _block = new(0x100);

    [Fact]
    public void Write_ReadWriteField_StoresWrittenBits()
    {
        Register register = _block.Define(Offset).WithField(0, 16, FieldMode.ReadWrite);

        _block.Write(Offset, 4, 0xFFFF_1234);

        Assert.Equal(0x1234u, register.Value);
        Assert.Equal(0x1234UL, _block.Read(Offset, 4));
    }

    [Fact]
    public void Write_ReadOnlyField_IgnoredAndReadsValue()
    {
        Register register = _block.Define(Offset, resetValue: 0xAB).WithField(0, 8, FieldMode.Read);

        _block.Write(Offset, 4, 0x55);

        Assert.Equal(0xABu, register.Value);
        Assert.Equal(0xABUL, _block.Read(Offset, 4));
    }

    [Fact]
    public void Write_WriteOneToClearField_ClearsOnlyBitsWrittenAsOne()
    {
        Register register = _block.Define(Offset, resetValue: 0b1111).WithField(0, 4, FieldMode.Read | FieldMode.WriteOneToClear);

        _block.Write(Offset, 4, 0b0101);

        Assert.Equal(0b1010u, register.Value);
        Assert.Equal(0b1010UL, _block.Read(Offset, 4));
    }

    [Fact]
    public void Write_WriteOneToSetField_SetsOnlyBitsWrittenAsOne()
    {
        Register register = _block.Define(Offset, resetValue: 0b1000).WithField(0, 4, FieldMode.Read | FieldMode.WriteOneToSet);

        _block.Write(Offset, 4, 0b0011);

        Assert.Equal(0b1011u, register.Value);
    }

    [Fact]
    public void Write_WriteZeroToClearField_ClearsOnlyBitsWrittenAsZero()
    {
        Register register = _block.Define(Offset, resetValue: 0b1111).WithField(0, 4, FieldMode.Read | FieldMode.WriteZeroToClear);

        _block.Write(Offset, 4, 0b0110);

        Assert.Equal(0b0110u, register.Value);
    }

    [Fact]
    public void Read_ReadToClearField_ReturnsValueThenClears()
    {
        Register register = _block.Define(Offset, resetValue: 0xC3).WithField(0, 8, FieldMode.Read | FieldMode.ReadToClear)
            .WithField(8, 8, FieldMode.Read);
        register.Value = 0x77C3;

        ulong first = _block.Read(Offset, 4);
        ulong second = _block.Read(Offset, 4);

        Assert.Equal(0x77C3UL, first);
        Assert.Equal(0x7700UL, second);
    }

    [Fact]
    public void Read_WriteOnlyField_ReadsZeroButStoresValue()
    {
        Register register = _block.Define(Offset).WithField(0, 32, FieldMode.Write);

        _block.Write(Offset, 4, 0xDEADBEEF);

        Assert.Equal(0UL, _block.Read(Offset, 4));
        Assert.Equal(0xDEADBEEFu, register.Value);
    }

    [Fact]
    public void ReservedBits_DeviceSetsThem_ReadZeroAndIgnoreWrites()
    {
        Register register = _block.Define(Offset).WithField(0, 8, FieldMode.ReadWrite).WithReservedBits(8, 24);
        register.Value = 0xFFFF_FF00;

        _block.Write(Offset, 4, 0x1234_5678);

        Assert.Equal(0x78UL, _block.Read(Offset, 4));
        Assert.Equal(0xFFFF_FF78u, register.Value);
    }

    [Fact]
    public void UndeclaredBits_RegisterWithOnlyResetValue_IsReadOnlyConstant()
    {
        Register version = _block.Define(Offset, resetValue: 0x0001_0400, name: "VS");

        _block.Write(Offset, 4, 0xFFFF_FFFF);

        Assert.Equal(0x0001_0400UL, _block.Read(Offset, 4));
        Assert.Equal(0x0001_0400u, version.Value);
    }

    [Fact]
    public void Write_MixedModes_EachFieldFollowsItsMode()
    {
        // CSTS-like: RDY read-only, a W1C status bit, a RW field and reserved bits.
        Register register = _block.Define(Offset, resetValue: 0b1_0001)
            .WithFlag(0, FieldMode.Read, "RDY")
            .WithReservedBits(1, 3)
            .WithFlag(4, FieldMode.Read | FieldMode.WriteOneToClear, "NSSRO")
            .WithField(8, 8, FieldMode.ReadWrite, "X");

        _block.Write(Offset, 4, 0xFFFF_FFFF);

        Assert.Equal(0x0000_FF01u, register.Value);
        Assert.Equal(0x0000_FF01UL, _block.Read(Offset, 4));
    }

    [Fact]
    public void Value_DeviceSet_BypassesFieldModes()
    {
        Register register = _block.Define(Offset).WithField(0, 8, FieldMode.Read);

        register.Value = 0x42;

        Assert.Equal(0x42UL, _block.Read(Offset, 4));
    }

    [Fact]
    public void OnWrite_GuestWrite_ReceivesOldAndNewValue()
    {
        List<(uint Old, uint New)> calls = [];
        _block.Define(Offset, resetValue: 0x10).WithField(0, 32, FieldMode.ReadWrite)
            .OnWrite((old, now) => calls.Add((old, now)));

        _block.Write(Offset, 4, 0x20);
        _block.Write(Offset, 4, 0x20);

        Assert.Equal([(0x10u, 0x20u), (0x20u, 0x20u)], calls);
    }

    [Fact]
    public void OnWrite_CallbackReadsValue_SeesNewValueAlreadyStored()
    {
        uint seen = 0;
        Register? register = null;
        register = _block.Define(Offset).WithField(0, 32, FieldMode.ReadWrite).OnWrite((_, _) => seen = register!.Value);

        _block.Write(Offset, 4, 0x99);

        Assert.Equal(0x99u, seen);
    }

    [Fact]
    public void OnRead_GuestRead_GetsCurrentReadableValueAndReplacesIt()
    {
        uint seen = 0;
        _block.Define(Offset, resetValue: 0xFF00_00AA).WithField(0, 8, FieldMode.Read).WithReservedBits(24, 8)
            .OnRead(current =>
            {
                seen = current;
                return current | 0x100;
            });

        ulong value = _block.Read(Offset, 4);

        Assert.Equal(0xAAu, seen);
        Assert.Equal(0x1AAUL, value);
    }

    [Fact]
    public void Write_FieldAndRegisterCallbacks_RunInBitOrderThenRegister()
    {
        List<string> order = [];
        _block.Define(Offset)
            .WithField(16, 8, FieldMode.ReadWrite, "HIGH", (old, now) => order.Add($"HIGH {old:x}->{now:x}"))
            .WithFlag(0, FieldMode.ReadWrite, "EN", (old, now) => order.Add($"EN {old}->{now}"))
            .WithField(4, 4, FieldMode.ReadWrite, "MID", (old, now) => order.Add($"MID {old:x}->{now:x}"))
            .OnWrite((old, now) => order.Add($"REG {old:x}->{now:x}"));

        _block.Write(Offset, 4, 0x00AB_00F1);

        Assert.Equal(["EN False->True", "MID 0->f", "HIGH 0->ab", "REG 0->ab00f1"], order);
    }

    [Fact]
    public void Write_SubDwordWrite_CallsOnlyCallbacksOfFieldsInWrittenBytes()
    {
        List<string> calls = [];
        _block.Define(Offset)
            .WithField(0, 8, FieldMode.ReadWrite, "LOW", (_, _) => calls.Add("LOW"))
            .WithField(24, 8, FieldMode.ReadWrite, "TOP", (_, _) => calls.Add("TOP"));

        _block.Write(Offset + 3, 1, 0x5A);

        Assert.Equal(["TOP"], calls);
    }

    [Fact]
    public void WithValueField_Handle_ReadsAndSetsFieldBits()
    {
        Register register = _block.Define(Offset)
            .WithValueField(4, 4, FieldMode.Read, out RegisterField css, "CSS")
            .WithFlag(0, FieldMode.ReadWrite, out RegisterField enable, "EN");

        css.Value = 0xA;
        enable.IsSet = true;
        _block.Write(Offset, 4, 0);

        Assert.Equal(0xA0u, register.Value);
        Assert.Equal(0xAu, css.Value);
        Assert.False(enable.IsSet);
        Assert.Equal("CSS", css.Name);
        Assert.Same(register, css.Register);
        Assert.Equal([css, enable], register.Fields);
        Assert.Throws<ArgumentOutOfRangeException>(() => css.Value = 0x10);
    }

    [Fact]
    public void Reset_AfterWrites_RestoresResetValueWithoutCallbacks()
    {
        int calls = 0;
        Register register = _block.Define(Offset, resetValue: 0x5).WithField(0, 8, FieldMode.ReadWrite).OnWrite((_, _) => calls++);
        _block.Write(Offset, 4, 0x7);

        register.Reset();

        Assert.Equal(0x5u, register.Value);
        Assert.Equal(1, calls);
    }

    [Fact]
    public void OnWrite_SecondCallback_ThrowsInvalidOperation()
    {
        Register register = _block.Define(Offset).OnWrite((_, _) => { });

        Assert.Throws<InvalidOperationException>(() => register.OnWrite((_, _) => { }));
    }

    [Fact]
    public void OnRead_SecondCallback_ThrowsInvalidOperation()
    {
        Register register = _block.Define(Offset).OnRead(v => v);

        Assert.Throws<InvalidOperationException>(() => register.OnRead(v => v));
    }
}
