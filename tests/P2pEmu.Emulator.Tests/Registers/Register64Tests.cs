using System.Collections.Generic;
using P2pEmu.Emulator.Registers;
using Xunit;

namespace P2pEmu.Emulator.Tests.Registers;

public sealed class Register64Tests
{
    private const uint Offset = 0x28; // NVMe ASQ

    private readonly RegisterBlock _block = new(0x100);

    [Fact]
    public void Read_EightByteAccess_ReturnsWholeValue()
    {
        _block.Define64(Offset, resetValue: 0x1122_3344_5566_7788, name: "CAP");

        Assert.Equal(0x1122_3344_5566_7788UL, _block.Read(Offset, 8));
    }

    [Fact]
    public void Read_TwoHalves_LowerHalfAtOffset()
    {
        _block.Define64(Offset, resetValue: 0x1122_3344_5566_7788);

        Assert.Equal(0x5566_7788UL, _block.Read(Offset, 4));
        Assert.Equal(0x1122_3344UL, _block.Read(Offset + 4, 4));
        Assert.Equal(0x33UL, _block.Read(Offset + 5, 1));
    }

    [Fact]
    public void Write_EightByteAccess_OneCallbackWithWholeOldAndNew()
    {
        List<(ulong Old, ulong New)> calls = [];
        Register64 register = _block.Define64(Offset, resetValue: 5).WithField(0, 64, FieldMode.ReadWrite)
            .OnWrite((old, now) => calls.Add((old, now)));

        _block.Write(Offset, 8, 0xAAAA_BBBB_CCCC_D000);

        Assert.Equal(0xAAAA_BBBB_CCCC_D000UL, register.Value);
        Assert.Equal([(5UL, 0xAAAA_BBBB_CCCC_D000UL)], calls);
    }

    [Fact]
    public void Write_TwoHalves_TwoCallbacksEachSeeingTheWholeValue()
    {
        List<(ulong Old, ulong New)> calls = [];
        Register64 register = _block.Define64(Offset).WithField(0, 64, FieldMode.ReadWrite)
            .OnWrite((old, now) => calls.Add((old, now)));

        _block.Write(Offset, 4, 0xCCCC_D000);
        _block.Write(Offset + 4, 4, 0xAAAA_BBBB);

        Assert.Equal(0xAAAA_BBBB_CCCC_D000UL, register.Value);
        Assert.Equal([(0UL, 0xCCCC_D000UL), (0xCCCC_D000UL, 0xAAAA_BBBB_CCCC_D000UL)], calls);
    }

    [Fact]
    public void Write_FieldModesAcrossHalves_Applied()
    {
        // ASQ-like: bits 11:0 reserved, 63:12 RW.
        Register64 register = _block.Define64(Offset).WithReservedBits(0, 12).WithField(12, 52, FieldMode.ReadWrite, "ASQB");

        _block.Write(Offset, 8, ulong.MaxValue);

        Assert.Equal(0xFFFF_FFFF_FFFF_F000UL, register.Value);
        Assert.Equal(0xFFFF_F000UL, _block.Read(Offset, 4));
    }

    [Fact]
    public void Write_ReadOnlyHighField_HighHalfWriteIgnored()
    {
        Register64 register = _block.Define64(Offset, resetValue: 0x0000_0001_0000_0000)
            .WithField(0, 32, FieldMode.ReadWrite)
            .WithField(32, 32, FieldMode.Read);

        _block.Write(Offset + 4, 4, 0xFFFF_FFFF);
        _block.Write(Offset, 4, 0x1234);

        Assert.Equal(0x0000_0001_0000_1234UL, register.Value);
    }

    [Fact]
    public void Write_OneByteInHighHalf_ChangesOnlyThatByte()
    {
        Register64 register = _block.Define64(Offset).WithField(0, 64, FieldMode.ReadWrite);

        _block.Write(Offset + 6, 1, 0xAB);

        Assert.Equal(0x00AB_0000_0000_0000UL, register.Value);
    }

    [Fact]
    public void ReadWrite_EightBytesAtHighHalf_SplitIntoRegisterHalfAndNextDword()
    {
        Register64 register = _block.Define64(Offset).WithField(0, 64, FieldMode.ReadWrite);
        Register next = _block.Define(Offset + 8).WithField(0, 32, FieldMode.ReadWrite);

        _block.Write(Offset + 4, 8, 0x2222_2222_1111_1111);

        Assert.Equal(0x1111_1111_0000_0000UL, register.Value);
        Assert.Equal(0x2222_2222u, next.Value);
        Assert.Equal(0x2222_2222_1111_1111UL, _block.Read(Offset + 4, 8));
    }

    [Fact]
    public void OnRead_HalfAccess_CallbackSeesWholeValueAndGuestGetsItsHalf()
    {
        List<ulong> seen = [];
        _block.Define64(Offset, resetValue: 0x0000_0002_0000_0001).WithField(0, 64, FieldMode.Read)
            .OnRead(current =>
            {
                seen.Add(current);
                return current + 0x0000_0010_0000_0010;
            });

        ulong high = _block.Read(Offset + 4, 4);

        Assert.Equal(0x12UL, high);
        Assert.Equal([0x0000_0002_0000_0001UL], seen);
    }

    [Fact]
    public void Reset_AfterWrite_RestoresResetValue()
    {
        Register64 register = _block.Define64(Offset, resetValue: 0x77).WithField(0, 64, FieldMode.ReadWrite);
        _block.Write(Offset, 8, 1);

        register.Reset();

        Assert.Equal(0x77UL, register.Value);
    }
}
