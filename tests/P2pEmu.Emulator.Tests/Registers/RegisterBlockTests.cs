using System;
using System.Collections.Generic;
using P2pEmu.Emulator.Registers;
using Xunit;

namespace P2pEmu.Emulator.Tests.Registers;

public sealed class RegisterBlockTests
{
    private const uint BlockBytes = 0x100;

    private readonly RegisterBlock _block = new(BlockBytes);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void Read_UndefinedOffsetInsideBlock_ReturnsZero(int sizeBytes)
    {
        _block.Define(0x0, resetValue: 0xFFFF_FFFF);
        _block.Define(0x10, resetValue: 0xFFFF_FFFF);

        Assert.Equal(0UL, _block.Read(0x8, sizeBytes));
    }

    [Fact]
    public void Write_UndefinedOffsetInsideBlock_IgnoredAndNeighboursUnchanged()
    {
        Register before = _block.Define(0x4).WithField(0, 32, FieldMode.ReadWrite);
        Register after = _block.Define(0xC).WithField(0, 32, FieldMode.ReadWrite);

        _block.Write(0x8, 4, 0xFFFF_FFFF);
        _block.Write(0x8, 8, ulong.MaxValue);

        Assert.Equal(0UL, _block.Read(0x8, 4));
        Assert.Equal(0u, before.Value);
        Assert.Equal(0xFFFF_FFFFu, after.Value);
    }

    [Theory]
    [InlineData(BlockBytes, 1, 0xFFUL)]
    [InlineData(BlockBytes, 2, 0xFFFFUL)]
    [InlineData(BlockBytes, 4, 0xFFFF_FFFFUL)]
    [InlineData(BlockBytes, 8, ulong.MaxValue)]
    [InlineData(BlockBytes + 0x1000, 4, 0xFFFF_FFFFUL)]
    [InlineData(ulong.MaxValue - 3, 4, 0xFFFF_FFFFUL)]
    [InlineData(ulong.MaxValue, 1, 0xFFUL)]
    public void Read_OffsetBeyondBlock_ReturnsAllOnesForSize(ulong offset, int sizeBytes, ulong expected)
    {
        _block.Define(0x0);

        Assert.Equal(expected, _block.Read(offset, sizeBytes));
    }

    [Fact]
    public void Write_OffsetBeyondBlock_IgnoredWithoutThrowing()
    {
        int calls = 0;
        Register last = _block.Define(BlockBytes - 4).WithField(0, 32, FieldMode.ReadWrite).OnWrite((_, _) => calls++);

        Exception? failure = Record.Exception(() =>
        {
            _block.Write(BlockBytes, 4, 0x1234);
            _block.Write(ulong.MaxValue - 7, 8, ulong.MaxValue);
            _block.Write(ulong.MaxValue, 1, 0xFF);
        });

        Assert.Null(failure);
        Assert.Equal(0u, last.Value);
        Assert.Equal(0, calls);
    }

    [Fact]
    public void Read_EightBytesStraddlingBlockEnd_InsideBytesFromRegisterRestAllOnes()
    {
        _block.Define(BlockBytes - 4, resetValue: 0x1234_5678);

        Assert.Equal(0xFFFF_FFFF_1234_5678UL, _block.Read(BlockBytes - 4, 8));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(9)]
    [InlineData(16)]
    public void ReadWrite_UnsupportedAccessSize_ReadsAllOnesAndWriteIgnored(int sizeBytes)
    {
        Register register = _block.Define(0x0).WithField(0, 32, FieldMode.ReadWrite);

        _block.Write(0x0, sizeBytes, 0x1234);

        Assert.Equal(ulong.MaxValue, _block.Read(0x0, sizeBytes));
        Assert.Equal(0u, register.Value);
    }

    [Theory]
    [InlineData(0x10, 1, 0x44UL)]
    [InlineData(0x11, 1, 0x33UL)]
    [InlineData(0x13, 1, 0x11UL)]
    [InlineData(0x10, 2, 0x3344UL)]
    [InlineData(0x12, 2, 0x1122UL)]
    public void Read_SubDword_ReturnsThoseBytes(ulong offset, int sizeBytes, ulong expected)
    {
        _block.Define(0x10, resetValue: 0x1122_3344).WithField(0, 32, FieldMode.ReadWrite);

        Assert.Equal(expected, _block.Read(offset, sizeBytes));
    }

    [Theory]
    [InlineData(0x10, 1, 0xAAUL, 0x1122_33AAu)]
    [InlineData(0x11, 1, 0xAAUL, 0x1122_AA44u)]
    [InlineData(0x13, 1, 0xAAUL, 0xAA22_3344u)]
    [InlineData(0x12, 2, 0xBBAAUL, 0xBBAA_3344u)]
    [InlineData(0x11, 1, 0xFFFF_FFAAUL, 0x1122_AA44u)] // bytes above the access size are ignored
    public void Write_SubDword_ChangesOnlyThoseBytes(ulong offset, int sizeBytes, ulong value, uint expected)
    {
        Register register = _block.Define(0x10, resetValue: 0x1122_3344).WithField(0, 32, FieldMode.ReadWrite);

        _block.Write(offset, sizeBytes, value);

        Assert.Equal(expected, register.Value);
    }

    [Fact]
    public void Write_OneByteToWriteOneToClearRegister_ClearsOnlyThatByte()
    {
        Register register = _block.Define(0x10, resetValue: 0xFFFF_FFFF).WithField(0, 32, FieldMode.Read | FieldMode.WriteOneToClear);

        _block.Write(0x12, 1, 0xFF);

        Assert.Equal(0xFF00_FFFFu, register.Value);
    }

    [Fact]
    public void Write_OneByteToWriteZeroToClearRegister_OtherBytesNotTreatedAsZeros()
    {
        Register register = _block.Define(0x10, resetValue: 0xFFFF_FFFF).WithField(0, 32, FieldMode.Read | FieldMode.WriteZeroToClear);

        _block.Write(0x10, 1, 0x0F);

        Assert.Equal(0xFFFF_FF0Fu, register.Value);
    }

    [Fact]
    public void Read_OneByteOfReadToClearRegister_ClearsOnlyThatByte()
    {
        Register register = _block.Define(0x10, resetValue: 0xFFFF_FFFF).WithField(0, 32, FieldMode.Read | FieldMode.ReadToClear);

        ulong value = _block.Read(0x11, 1);

        Assert.Equal(0xFFUL, value);
        Assert.Equal(0xFFFF_00FFu, register.Value);
    }

    [Fact]
    public void WriteRead_EightBytesOverTwoDwordRegisters_TwoDwordAccesses()
    {
        List<uint> writes = [];
        Register low = _block.Define(0x20).WithField(0, 32, FieldMode.ReadWrite).OnWrite((_, now) => writes.Add(now));
        Register high = _block.Define(0x24).WithField(0, 32, FieldMode.ReadWrite).OnWrite((_, now) => writes.Add(now));

        _block.Write(0x20, 8, 0xAAAA_AAAA_BBBB_BBBB);

        Assert.Equal(0xBBBB_BBBBu, low.Value);
        Assert.Equal(0xAAAA_AAAAu, high.Value);
        Assert.Equal([0xBBBB_BBBBu, 0xAAAA_AAAAu], writes);
        Assert.Equal(0xAAAA_AAAA_BBBB_BBBBUL, _block.Read(0x20, 8));
    }

    [Fact]
    public void WriteRead_UnalignedDwordAcrossTwoRegisters_SplitsByByteLanes()
    {
        Register low = _block.Define(0x20).WithField(0, 32, FieldMode.ReadWrite);
        Register high = _block.Define(0x24).WithField(0, 32, FieldMode.ReadWrite);

        _block.Write(0x22, 4, 0xDDCC_BBAA);

        Assert.Equal(0xBBAA_0000u, low.Value);
        Assert.Equal(0x0000_DDCCu, high.Value);
        Assert.Equal(0xDDCC_BBAAUL, _block.Read(0x22, 4));
    }

    [Fact]
    public void Reset_Block_ResetsEveryKindOfRegister()
    {
        Register register = _block.Define(0x0, resetValue: 1).WithField(0, 32, FieldMode.ReadWrite);
        Register64 register64 = _block.Define64(0x8, resetValue: 2).WithField(0, 64, FieldMode.ReadWrite);
        RegisterArray array = _block.DefineArray(0x40, 4, 4, resetValue: 3).WithField(0, 32, FieldMode.ReadWrite);
        _block.Write(0x0, 4, 10);
        _block.Write(0x8, 8, 20);
        _block.Write(0x4C, 4, 30);

        _block.Reset();

        Assert.Equal(1u, register.Value);
        Assert.Equal(2UL, register64.Value);
        Assert.Equal(3u, array[3].Value);
        Assert.Equal(1UL, _block.Read(0x0, 4));
    }

    [Fact]
    public void ReadWrite_HotPath_AllocatesNothing()
    {
        uint sink = 0;
        _block.Define(0x0).WithField(0, 32, FieldMode.ReadWrite).OnWrite((_, now) => sink = now);
        _block.Define64(0x8).WithField(0, 64, FieldMode.ReadWrite);
        _block.DefineArray(0x80, 8, 8).WithField(0, 16, FieldMode.ReadWrite).OnWrite((i, _, now) => sink += (uint)i + now);
        Exercise(_block, 10); // JIT and first-call work happen outside the measurement

        long before = GC.GetAllocatedBytesForCurrentThread();
        ulong total = Exercise(_block, 1000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.NotEqual(0UL, total + sink);
    }

    private static ulong Exercise(RegisterBlock block, int rounds)
    {
        ulong total = 0;
        for (uint i = 0; i < rounds; i++)
        {
            block.Write(0x0, 4, i);
            block.Write(0x1, 1, i);
            block.Write(0x8, 8, i);
            block.Write(0x80 + ((i % 8) * 8), 4, i);
            total += block.Read(0x0, 4) + block.Read(0x8, 8) + block.Read(0xC, 4) + block.Read(0x2, 2) + block.Read(0x1000, 4);
        }

        return total;
    }
}
