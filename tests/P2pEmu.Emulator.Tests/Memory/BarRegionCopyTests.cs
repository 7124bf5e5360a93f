using System;
using P2pEmu.Emulator.Memory;
using Xunit;

namespace P2pEmu.Emulator.Tests.Memory;

public sealed class BarRegionCopyTests
{
    private const int RegionBytes = 256 * 1024;

    [Fact]
    public void Copy_RandomRangesBetweenRegions_MatchesSpanCopyTo()
    {
        Random random = new(1234);
        using BarRegion source = CreateRandom(random);
        using BarRegion destination = CreateRandom(random);
        byte[] expected = destination.GetSpan(0, RegionBytes).ToArray();

        for (int i = 0; i < 200; i++)
        {
            int length = random.Next(0, 20_000);
            int from = random.Next(0, RegionBytes - length + 1);
            int to = random.Next(0, RegionBytes - length + 1);

            BarRegion.Copy(source, (ulong)from, destination, (ulong)to, (ulong)length);
            source.GetSpan((ulong)from, length).CopyTo(expected.AsSpan(to, length));
        }

        Assert.True(destination.GetSpan(0, RegionBytes).SequenceEqual(expected));
    }

    [Theory]
    [InlineData(0, 100, 4096)]    // destination above source, overlapping
    [InlineData(100, 0, 4096)]    // destination below source, overlapping
    [InlineData(0, 1, RegionBytes - 1)]
    [InlineData(1, 0, RegionBytes - 1)]
    [InlineData(500, 500, 1000)]  // same range
    public void Copy_OverlappingRangesInOneRegion_BehavesLikeMemmove(int from, int to, int length)
    {
        using BarRegion region = CreateRandom(new Random(from + (to * 7)));
        byte[] expected = region.GetSpan(0, RegionBytes).ToArray();
        expected.AsSpan(from, length).CopyTo(expected.AsSpan(to, length));

        BarRegion.Copy(region, (ulong)from, region, (ulong)to, (ulong)length);

        Assert.True(region.GetSpan(0, RegionBytes).SequenceEqual(expected));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(4096)]
    public void CopyChunked_OverlappingRangesWithSmallChunks_BehavesLikeMemmove(int chunkBytes)
    {
        Random random = new(chunkBytes);
        using BarRegion region = CreateRandom(random);
        byte[] expected = region.GetSpan(0, RegionBytes).ToArray();

        for (int i = 0; i < 50; i++)
        {
            int length = random.Next(1, 30_000);
            int from = random.Next(0, RegionBytes - length + 1);
            int to = Math.Clamp(from + random.Next(-length, length), 0, RegionBytes - length);

            BarRegion.CopyChunked(region, (ulong)from, region, (ulong)to, (ulong)length, chunkBytes);
            expected.AsSpan(from, length).CopyTo(expected.AsSpan(to, length));
        }

        Assert.True(region.GetSpan(0, RegionBytes).SequenceEqual(expected));
    }

    [Fact]
    public void CopyChunked_LengthManyChunksWithRemainder_MatchesSpanCopyTo()
    {
        Random random = new(99);
        using BarRegion source = CreateRandom(random);
        using BarRegion destination = BarRegion.CreateAnonymous(RegionBytes);
        const int Length = RegionBytes - 1001;

        BarRegion.CopyChunked(source, 1000, destination, 1, Length, chunkBytes: 4096);

        Assert.True(destination.GetSpan(1, Length).SequenceEqual(source.GetSpan(1000, Length)));
        Assert.Equal(0, destination.Read<byte>(0));
        Assert.Equal(0, destination.Read<byte>(Length + 1));
    }

    [Fact]
    public void Copy_ZeroLength_ChangesNothing()
    {
        Random random = new(5);
        using BarRegion source = CreateRandom(random);
        using BarRegion destination = BarRegion.CreateAnonymous(RegionBytes);

        BarRegion.Copy(source, 10, destination, RegionBytes, 0);

        Assert.True(destination.GetSpan(0, RegionBytes).IndexOfAnyExcept((byte)0) < 0);
    }

    [Theory]
    [InlineData(0UL, RegionBytes - 10UL, 11UL)]              // destination ends past its region
    [InlineData(RegionBytes - 10UL, 0UL, 11UL)]              // source ends past its region
    [InlineData(0UL, 16UL, ulong.MaxValue - 8)]              // destination offset + length wraps
    [InlineData(16UL, 0UL, ulong.MaxValue - 8)]              // source offset + length wraps
    [InlineData(0UL, 0UL, (ulong)int.MaxValue + 1)]          // longer than both regions
    public void Copy_RangeOutsideRegion_ThrowsBeforeWritingAnyByte(ulong from, ulong to, ulong length)
    {
        using BarRegion source = CreateRandom(new Random(3));
        using BarRegion destination = BarRegion.CreateAnonymous(RegionBytes);

        Assert.Throws<ArgumentOutOfRangeException>(() => BarRegion.Copy(source, from, destination, to, length));
        Assert.True(destination.GetSpan(0, RegionBytes).IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void Copy_NullRegion_ThrowsArgumentNull()
    {
        using BarRegion region = BarRegion.CreateAnonymous(4096);

        Assert.Throws<ArgumentNullException>(() => BarRegion.Copy(null!, 0, region, 0, 1));
        Assert.Throws<ArgumentNullException>(() => BarRegion.Copy(region, 0, null!, 0, 1));
    }


    private static BarRegion CreateRandom(Random random)
    {
        BarRegion region = BarRegion.CreateAnonymous(RegionBytes);
        random.NextBytes(region.GetSpan(0, RegionBytes));
        return region;
    }
}
