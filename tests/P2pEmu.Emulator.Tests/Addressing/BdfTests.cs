using System;
using P2pEmu.Emulator.Addressing;
using Xunit;

namespace P2pEmu.Emulator.Tests.Addressing;

public sealed class BdfTests
{
    [Theory]
    [InlineData(0x00, 0x00, 0, "00:00.0", 0x0000)]
    [InlineData(0x03, 0x1F, 7, "03:1f.7", 0x03FF)]
    [InlineData(0xFF, 0x01, 2, "ff:01.2", 0xFF0A)]
    public void Bdf_PacksAsARequesterId_AndPrintsLikeLspci(int bus, int device, int function, string text, int value)
    {
        var bdf = new Bdf(bus, device, function);

        Assert.Equal(value, bdf.Value);
        Assert.Equal((bus, device, function), (bdf.Bus, bdf.Device, bdf.Function));
        Assert.Equal((device << 3) | function, bdf.DevFn);
        Assert.Equal(text, bdf.ToString());
        Assert.True(Bdf.TryParse(text, out Bdf parsed));
        Assert.Equal(bdf, parsed);
    }

    [Theory]
    [InlineData("0:00.0")]
    [InlineData("00:20.0")]
    [InlineData("00:00.8")]
    [InlineData("zz:00.0")]
    [InlineData("00-00.0")]
    public void TryParse_Malformed_ReturnsFalse(string text) => Assert.False(Bdf.TryParse(text, out _));

    [Theory]
    [InlineData(256, 0, 0)]
    [InlineData(0, 32, 0)]
    [InlineData(0, 0, 8)]
    [InlineData(-1, 0, 0)]
    public void Constructor_OutOfRange_Throws(int bus, int device, int function) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new Bdf(bus, device, function));

    [Fact]
    public void Addresses_OfDifferentSpaces_AreDistinctTypes()
    {
        var bus = new BusAddress(0x1000);

        Assert.Equal(new DmaAddress(0x1000), bus.AsDmaAddress());
        Assert.Equal(new BusAddress(0x1010), bus.Add(0x10));
        Assert.Equal("0x1000", new Iova(0x1000).ToString());
        Assert.Throws<OverflowException>(() => new DmaAddress(ulong.MaxValue).Add(1));
        Assert.False(typeof(DmaAddress).IsAssignableFrom(typeof(BusAddress)));
    }
}
