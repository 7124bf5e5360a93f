using System.Collections.Generic;
using P2pEmu.Emulator.Registers;
using Xunit;

namespace P2pEmu.Emulator.Tests.Registers;

public sealed class RegisterArrayTests
{
    private const uint Doorbells = 0x1000;

    private readonly RegisterBlock _block = new(0x2000);

    [Fact]
    public void Write_Doorbell_CallbackGetsElementIndexAndValues()
    {
        List<(int Index, uint Old, uint New)> calls = [];
        RegisterArray sqTail = _block.DefineArray(Doorbells, count: 4, strideBytes: 8, name: "SQyTDBL")
            .WithField(0, 16, FieldMode.ReadWrite).WithReservedBits(16, 16)
            .OnWrite((index, old, now) => calls.Add((index, old, now)));

        _block.Write(Doorbells + (2 * 8), 4, 0xFFFF_0007);

        Assert.Equal([(2, 0u, 7u)], calls);
        Assert.Equal(7u, sqTail[2].Value);
        Assert.Equal(0u, sqTail[1].Value);
        Assert.Equal(Doorbells + 16, sqTail[2].Offset);
        Assert.Equal(2, sqTail[2].ArrayIndex);
        Assert.Equal("SQyTDBL", sqTail[2].Name);
        Assert.Equal(4, sqTail.Count);
    }

    [Fact]
    public void InterleavedArrays_SqAndCqDoorbells_DispatchToTheirOwnArray()
    {
        List<string> calls = [];
        _block.DefineArray(Doorbells, 3, 8).WithField(0, 16, FieldMode.ReadWrite).OnWrite((i, _, now) => calls.Add($"SQ{i}={now}"));
        _block.DefineArray(Doorbells + 4, 3, 8).WithField(0, 16, FieldMode.ReadWrite).OnWrite((i, _, now) => calls.Add($"CQ{i}={now}"));

        _block.Write(Doorbells + 12, 4, 5);
        _block.Write(Doorbells + 16, 4, 6);

        Assert.Equal(["CQ1=5", "SQ2=6"], calls);
    }

    [Fact]
    public void Read_GapBetweenStridedElements_ReadsZero()
    {
        _block.DefineArray(Doorbells, 2, 8, resetValue: 0xFFFF_FFFF);

        Assert.Equal(0xFFFF_FFFFUL, _block.Read(Doorbells, 4));
        Assert.Equal(0UL, _block.Read(Doorbells + 4, 4));
    }

    [Fact]
    public void OnRead_Element_CallbackGetsIndex()
    {
        _block.DefineArray(Doorbells, 4, 4).WithField(0, 32, FieldMode.Read).OnRead((index, current) => current + (uint)(index * 100));

        Assert.Equal(300UL, _block.Read(Doorbells + 12, 4));
    }

    [Fact]
    public void Reset_Array_RestoresEveryElement()
    {
        RegisterArray array = _block.DefineArray(Doorbells, 4, 4, resetValue: 9).WithField(0, 32, FieldMode.ReadWrite);
        _block.Write(Doorbells, 4, 1);
        _block.Write(Doorbells + 12, 4, 1);

        array.Reset();

        Assert.Equal(9u, array[0].Value);
        Assert.Equal(9u, array[3].Value);
    }
}
