using System;
using P2pEmu.Emulator.Registers;
using Xunit;

namespace P2pEmu.Emulator.Tests.Registers;

public sealed class RegisterDefinitionTests
{
    private readonly RegisterBlock _block = new(0x100);

    private enum TestReg : uint
    {
        Cap = 0x00,
        Cc = 0x14,
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(6u)]
    [InlineData(RegisterBlock.MaxSizeBytes + 4)]
    public void Constructor_InvalidSize_ThrowsArgumentOutOfRange(uint sizeBytes) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new RegisterBlock(sizeBytes));

    [Theory]
    [InlineData(1u)]
    [InlineData(2u)]
    [InlineData(0x13u)]
    public void Define_OffsetNotFourAligned_ThrowsArgumentException(uint offset)
    {
        Assert.Throws<ArgumentException>(() => _block.Define(offset));
        Assert.Throws<ArgumentException>(() => _block.Define64(offset));
        Assert.Throws<ArgumentException>(() => _block.DefineArray(offset, 2, 4));
    }

    [Fact]
    public void Define_DuplicateOffset_ThrowsArgumentException()
    {
        _block.Define(0x10);

        Assert.Throws<ArgumentException>(() => _block.Define(0x10));
    }

    [Fact]
    public void Define64_OverlappingDwordRegisters_ThrowsArgumentException()
    {
        _block.Define(0x14);
        _block.Define64(0x20);

        Assert.Throws<ArgumentException>(() => _block.Define64(0x10));  // high half on 0x14
        Assert.Throws<ArgumentException>(() => _block.Define(0x24));    // high half of 0x20
        Assert.Throws<ArgumentException>(() => _block.Define64(0x1C));  // high half on 0x20
    }

    [Theory]
    [InlineData(0x100u)]
    [InlineData(0x200u)]
    public void Define_OffsetOutsideBlock_ThrowsArgumentOutOfRange(uint offset) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => _block.Define(offset));

    [Fact]
    public void Define64_HighHalfOutsideBlock_ThrowsArgumentOutOfRange() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => _block.Define64(0xFC));

    [Fact]
    public void DefineArray_ElementOverlapsRegister_ThrowsAndDefinesNothing()
    {
        _block.Define(0x48);

        Assert.Throws<ArgumentException>(() => _block.DefineArray(0x40, 4, 4));
        _block.Define(0x40); // element 0 was not left behind
    }

    [Theory]
    [InlineData(0, 4u)]
    [InlineData(-1, 4u)]
    [InlineData(64, 8u)]   // does not fit in 0x100 bytes
    public void DefineArray_BadCountOrFit_ThrowsArgumentOutOfRange(int count, uint strideBytes) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => _block.DefineArray(0x0, count, strideBytes));

    [Theory]
    [InlineData(0u)]
    [InlineData(6u)]
    public void DefineArray_BadStride_ThrowsArgumentException(uint strideBytes) =>
        Assert.ThrowsAny<ArgumentException>(() => _block.DefineArray(0x0, 2, strideBytes));

    [Theory]
    [InlineData(-1, 1)]
    [InlineData(0, 0)]
    [InlineData(0, 33)]
    [InlineData(30, 4)]
    [InlineData(32, 1)]
    public void WithField_OutsideThirtyTwoBits_ThrowsArgumentOutOfRange(int position, int width)
    {
        Register register = _block.Define(0x0);

        Assert.Throws<ArgumentOutOfRangeException>(() => register.WithField(position, width, FieldMode.ReadWrite));
    }

    [Fact]
    public void WithFlag_Bit32_ThrowsArgumentOutOfRange() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => _block.Define(0x0).WithFlag(32, FieldMode.Read));

    [Fact]
    public void WithField_Register64BeyondBit63_ThrowsArgumentOutOfRange()
    {
        Register64 register = _block.Define64(0x0).WithField(0, 64, FieldMode.Read);

        Assert.Throws<ArgumentOutOfRangeException>(() => _block.Define64(0x8).WithField(60, 5, FieldMode.Read));
        Assert.NotNull(register);
    }

    [Theory]
    [InlineData(4, 4)]
    [InlineData(0, 1)]
    [InlineData(7, 1)]
    [InlineData(0, 32)]
    public void WithField_OverlapsExistingField_ThrowsArgumentException(int position, int width)
    {
        Register register = _block.Define(0x0).WithField(0, 8, FieldMode.ReadWrite);

        Assert.Throws<ArgumentException>(() => register.WithField(position, width, FieldMode.Read));
    }

    [Fact]
    public void WithReservedBits_OverlapsField_ThrowsArgumentException()
    {
        Register register = _block.Define(0x0).WithFlag(3, FieldMode.ReadWrite);

        Assert.Throws<ArgumentException>(() => register.WithReservedBits(0, 4));
    }

    [Theory]
    [InlineData((FieldMode)0)]
    [InlineData(FieldMode.Write | FieldMode.WriteOneToClear)]
    [InlineData(FieldMode.WriteOneToSet | FieldMode.WriteOneToClear)]
    [InlineData(FieldMode.Read | FieldMode.WriteZeroToClear | FieldMode.Write)]
    [InlineData((FieldMode)(1 << 10))]
    public void WithField_InvalidMode_ThrowsArgumentException(FieldMode mode)
    {
        Register register = _block.Define(0x0);

        Assert.Throws<ArgumentException>(() => register.WithField(0, 8, mode));
    }

    [Fact]
    public void WithField_AfterFailedDefinition_RegisterStillUsable()
    {
        Register register = _block.Define(0x0).WithField(0, 8, FieldMode.ReadWrite);
        Assert.Throws<ArgumentException>(() => register.WithField(4, 8, FieldMode.ReadWrite));

        register.WithField(8, 8, FieldMode.ReadWrite);
        _block.Write(0x0, 4, 0xFFFF);

        Assert.Equal(0xFFFFu, register.Value);
    }

    [Fact]
    public void Define_EnumOffset_UsesValueAndMemberName()
    {
        Register cc = _block.Define(TestReg.Cc);
        Register64 cap = _block.Define64(TestReg.Cap, name: "Capabilities");

        Assert.Equal(0x14u, cc.Offset);
        Assert.Equal("Cc", cc.Name);
        Assert.Equal(0x0u, cap.Offset);
        Assert.Equal("Capabilities", cap.Name);
    }
}
