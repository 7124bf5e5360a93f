using System;
using System.Threading.Tasks;
using P2pEmu.Emulator.Memory;
using Xunit;

namespace P2pEmu.Emulator.Tests.Memory;

public sealed class BarRegionTests
{
    private const ulong RegionBytes = 64 * 1024;

    [Fact]
    public void CreateAnonymous_NewRegion_HasSizeNoPathAndReadsZero()
    {
        using BarRegion region = BarRegion.CreateAnonymous(RegionBytes);

        Assert.Equal(RegionBytes, region.SizeBytes);
        Assert.Null(region.BackingPath);
        Assert.True(region.GetSpan(0, (int)RegionBytes).IndexOfAnyExcept((byte)0) < 0);
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData((ulong)long.MaxValue + 1)]
    [InlineData(ulong.MaxValue)]
    public void CreateAnonymous_InvalidSize_ThrowsArgumentOutOfRange(ulong sizeBytes) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => BarRegion.CreateAnonymous(sizeBytes));

    [Fact]
    public void GetSpan_RangeEndingExactlyAtSize_Succeeds()
    {
        using BarRegion region = BarRegion.CreateAnonymous(RegionBytes);

        Span<byte> tail = region.GetSpan(RegionBytes - 16, 16);
        tail.Fill(0x5A);

        Assert.Equal(16, tail.Length);
        Assert.Equal(0x5A, region.Read<byte>(RegionBytes - 1));
    }

    [Fact]
    public void GetSpan_ZeroLengthAtEnd_ReturnsEmptySpan()
    {
        using BarRegion region = BarRegion.CreateAnonymous(RegionBytes);

        Assert.True(region.GetSpan(RegionBytes, 0).IsEmpty);
    }

    [Theory]
    [InlineData(RegionBytes - 15, 16)]     // one byte past the end
    [InlineData(RegionBytes, 1)]           // starts at the end
    [InlineData(RegionBytes + 1, 0)]       // empty, but starts past the end
    [InlineData(ulong.MaxValue - 1, 4)]    // offset + length wraps to 2
    [InlineData(ulong.MaxValue, 1)]        // offset + length wraps to 0
    public void GetSpan_RangeOutsideRegion_ThrowsArgumentOutOfRange(ulong offset, int length)
    {
        using BarRegion region = BarRegion.CreateAnonymous(RegionBytes);

        Assert.Throws<ArgumentOutOfRangeException>(() => region.GetSpan(offset, length));
    }

    [Fact]
    public void GetSpan_NegativeLength_ThrowsArgumentOutOfRange()
    {
        using BarRegion region = BarRegion.CreateAnonymous(RegionBytes);

        Assert.Throws<ArgumentOutOfRangeException>(() => region.GetSpan(0, -1));
    }

    [Theory]
    [InlineData(RegionBytes - 7)]          // last 7 bytes: one short of a ulong
    [InlineData(ulong.MaxValue - 3)]       // wraps
    public void GetRefReadWrite_ValueCrossingEnd_ThrowArgumentOutOfRange(ulong offset)
    {
        using BarRegion region = BarRegion.CreateAnonymous(RegionBytes);

        Assert.Throws<ArgumentOutOfRangeException>(() => region.GetRef<ulong>(offset));
        Assert.Throws<ArgumentOutOfRangeException>(() => region.Read<ulong>(offset));
        Assert.Throws<ArgumentOutOfRangeException>(() => region.Write(offset, ulong.MaxValue));
        Assert.True(region.GetSpan(RegionBytes - 8, 8).IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void Write_UnalignedUInt32_StoresLittleEndianBytes()
    {
        using BarRegion region = BarRegion.CreateAnonymous(RegionBytes);

        region.Write<uint>(0x101, 0x11223344);

        Assert.Equal(new byte[] { 0x00, 0x44, 0x33, 0x22, 0x11, 0x00 }, region.GetSpan(0x100, 6).ToArray());
        Assert.Equal(0x11223344u, region.Read<uint>(0x101));
        Assert.Equal(0x1122u, region.Read<ushort>(0x103));
    }

    [Fact]
    public void GetRef_WriteThroughRef_VisibleToReadAndSpan()
    {
        using BarRegion region = BarRegion.CreateAnonymous(RegionBytes);

        ref ulong slot = ref region.GetRef<ulong>(RegionBytes - 8);
        slot = 0x0102030405060708;

        Assert.Equal(0x0102030405060708UL, region.Read<ulong>(RegionBytes - 8));
        Assert.Equal(0x08, region.GetSpan(RegionBytes - 8, 1)[0]);
    }

    [Theory]
    [InlineData((byte)0xAB)]
    [InlineData((byte)0x00)]
    public void Fill_Range_SetsOnlyThatRange(byte value)
    {
        using BarRegion region = BarRegion.CreateAnonymous(RegionBytes);
        region.GetSpan(0, (int)RegionBytes).Fill(0x11);

        region.Fill(100, 5000, value);

        Span<byte> all = region.GetSpan(0, (int)RegionBytes);
        Assert.True(all[..100].IndexOfAnyExcept((byte)0x11) < 0);
        Assert.True(all.Slice(100, 5000).IndexOfAnyExcept(value) < 0);
        Assert.True(all[5100..].IndexOfAnyExcept((byte)0x11) < 0);
    }

    [Theory]
    [InlineData(RegionBytes - 10, 11UL)]
    [InlineData(1UL, ulong.MaxValue)]
    public void Fill_RangeOutsideRegion_ThrowsAndWritesNothing(ulong offset, ulong length)
    {
        using BarRegion region = BarRegion.CreateAnonymous(RegionBytes);

        Assert.Throws<ArgumentOutOfRangeException>(() => region.Fill(offset, length, 0xFF));
        Assert.True(region.GetSpan(0, (int)RegionBytes).IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void Prefault_Range_KeepsContents()
    {
        using BarRegion region = BarRegion.CreateAnonymous(RegionBytes);
        region.Write<ulong>(4096 + 3, 0xDEADBEEFCAFEF00D);

        region.Prefault(4095, 8192);
        region.Prefault(0, RegionBytes);

        Assert.Equal(0xDEADBEEFCAFEF00DUL, region.Read<ulong>(4096 + 3));
        Assert.Equal(0UL, region.Read<ulong>(0));
    }

    [Theory]
    [InlineData(RegionBytes, 1UL)]
    [InlineData(8UL, ulong.MaxValue - 4)]
    public void Prefault_RangeOutsideRegion_ThrowsArgumentOutOfRange(ulong offset, ulong length)
    {
        using BarRegion region = BarRegion.CreateAnonymous(RegionBytes);

        Assert.Throws<ArgumentOutOfRangeException>(() => region.Prefault(offset, length));
    }

    [Fact]
    public void Dispose_CalledTwice_DoesNotThrow()
    {
        BarRegion region = BarRegion.CreateAnonymous(RegionBytes);

        region.Dispose();
        Exception? second = Record.Exception(region.Dispose);

        Assert.Null(second);
        Assert.Throws<ObjectDisposedException>(() => region.GetSpan(0, 1));
    }

    [Fact]
    public void Dispose_ConcurrentCallers_ReleaseOnceWithoutThrowing()
    {
        for (int round = 0; round < 20; round++)
        {
            BarRegion region = BarRegion.CreateAnonymous(RegionBytes);

            Exception? failure = Record.Exception(() => Parallel.For(0, 8, _ => region.Dispose()));

            Assert.Null(failure);
            Assert.Throws<ObjectDisposedException>(() => region.Read<byte>(0));
        }
    }

    [Fact]
    public void Accessors_AfterDispose_ThrowObjectDisposed()
    {
        BarRegion region = BarRegion.CreateAnonymous(RegionBytes);
        using BarRegion live = BarRegion.CreateAnonymous(RegionBytes);
        region.Dispose();

        Assert.Throws<ObjectDisposedException>(() => region.GetSpan(0, 1));
        Assert.Throws<ObjectDisposedException>(() => region.GetRef<int>(0));
        Assert.Throws<ObjectDisposedException>(() => region.Read<int>(0));
        Assert.Throws<ObjectDisposedException>(() => region.Write(0, 1));
        Assert.Throws<ObjectDisposedException>(() => region.Fill(0, 1, 1));
        Assert.Throws<ObjectDisposedException>(() => region.Prefault(0, 1));
        Assert.Throws<ObjectDisposedException>(() => BarRegion.Copy(region, 0, live, 0, 1));
        Assert.Throws<ObjectDisposedException>(() => BarRegion.Copy(live, 0, region, 0, 1));
        Assert.Equal(RegionBytes, region.SizeBytes);
    }
}
