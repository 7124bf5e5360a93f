using System;
using System.IO;
using P2pEmu.Emulator.Memory;
using Xunit;

namespace P2pEmu.Emulator.Tests.Memory;

public sealed class BarRegionFileTests : IDisposable
{
    private const int RegionBytes = 64 * 1024;

    private readonly string _directory;

    public BarRegionFileTests()
    {
        _directory = Path.Combine(Path.GetTempPath(), "p2pemu-bar-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void CreateFile_NewFile_CreatesFileOfRegionSizeAndReportsFullPath()
    {
        string path = Path.Combine(_directory, "bar0.bin");

        using BarRegion region = BarRegion.CreateFile(path, RegionBytes);

        Assert.Equal(Path.GetFullPath(path), region.BackingPath);
        Assert.Equal((ulong)RegionBytes, region.SizeBytes);
        Assert.Equal(RegionBytes, new FileInfo(path).Length);
    }

    [Fact]
    public void CreateFile_WriteThroughRegion_FileHoldsTheSameBytes()
    {
        string path = Path.Combine(_directory, "bar0.bin");
        byte[] pattern = new byte[RegionBytes];
        new Random(7).NextBytes(pattern);

        using (BarRegion region = BarRegion.CreateFile(path, RegionBytes))
        {
            pattern.CopyTo(region.GetSpan(0, RegionBytes));

            // While mapped: a shared mapping and read() see the same page cache.
            byte[] whileMapped = new byte[RegionBytes];
            using (FileStream stream = new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            {
                stream.ReadExactly(whileMapped);
            }

            Assert.Equal(pattern, whileMapped);
        }

        Assert.Equal(pattern, File.ReadAllBytes(path));
    }

    [Fact]
    public void CreateFile_SecondRegionOverSameFile_SeesWritesBothWays()
    {
        string path = Path.Combine(_directory, "shared.bin");
        using BarRegion first = BarRegion.CreateFile(path, RegionBytes);
        using BarRegion second = BarRegion.CreateFile(path, RegionBytes);

        first.Write<ulong>(0x1000, 0x1122334455667788);
        second.Write<uint>(RegionBytes - 4, 0xCAFEBABE);

        Assert.Equal(0x1122334455667788UL, second.Read<ulong>(0x1000));
        Assert.Equal(0xCAFEBABEu, first.Read<uint>(RegionBytes - 4));
    }

    [Fact]
    public void CreateFile_ShorterExistingFile_ExtendedAndContentsKept()
    {
        string path = Path.Combine(_directory, "short.bin");
        File.WriteAllBytes(path, [1, 2, 3, 4, 5]);

        using BarRegion region = BarRegion.CreateFile(path, RegionBytes);

        Assert.Equal(RegionBytes, new FileInfo(path).Length);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 0 }, region.GetSpan(0, 6).ToArray());
        Assert.Equal(0, region.Read<byte>(RegionBytes - 1));
    }

    [Fact]
    public void CreateFile_EmptyExistingFile_ExtendedToSize()
    {
        string path = Path.Combine(_directory, "empty.bin");
        File.WriteAllBytes(path, []);

        using BarRegion region = BarRegion.CreateFile(path, 4096);

        Assert.Equal(4096, new FileInfo(path).Length);
        Assert.Equal(0UL, region.Read<ulong>(4088));
    }

    [Fact]
    public void CreateFile_LongerExistingFile_KeepsFileAndMapsOnlySize()
    {
        string path = Path.Combine(_directory, "long.bin");
        byte[] contents = new byte[3 * 4096];
        new Random(11).NextBytes(contents);
        File.WriteAllBytes(path, contents);

        using BarRegion region = BarRegion.CreateFile(path, 4096);

        Assert.Equal(4096UL, region.SizeBytes);
        Assert.Equal(3 * 4096, new FileInfo(path).Length);
        Assert.True(region.GetSpan(0, 4096).SequenceEqual(contents.AsSpan(0, 4096)));
        Assert.Throws<ArgumentOutOfRangeException>(() => region.GetSpan(4096, 1));
    }

    [Fact]
    public void Dispose_FileBackedRegion_KeepsFileAndItsBytes()
    {
        string path = Path.Combine(_directory, "kept.bin");
        BarRegion region = BarRegion.CreateFile(path, 4096);
        region.Write<uint>(0, 0xA5A5A5A5);

        region.Dispose();

        Assert.True(File.Exists(path));
        using BarRegion reopened = BarRegion.CreateFile(path, 4096);
        Assert.Equal(0xA5A5A5A5u, reopened.Read<uint>(0));
    }

    [Fact]
    public void CreateFile_DevShmBacking_SharedWithSecondMappingAndReadable()
    {
        if (!Directory.Exists("/dev/shm"))
        {
            return; // no tmpfs here; the temp-directory tests cover file backing
        }

        string path = "/dev/shm/p2pemu-test-" + Guid.NewGuid().ToString("N");
        try
        {
            using BarRegion region = BarRegion.CreateFile(path, RegionBytes);
            using BarRegion peer = BarRegion.CreateFile(path, RegionBytes);
            byte[] pattern = new byte[4096];
            new Random(13).NextBytes(pattern);

            pattern.CopyTo(region.GetSpan(8192, pattern.Length));

            Assert.True(peer.GetSpan(8192, pattern.Length).SequenceEqual(pattern));
            byte[] file = File.ReadAllBytes(path);
            Assert.Equal(RegionBytes, file.Length);
            Assert.True(file.AsSpan(8192, pattern.Length).SequenceEqual(pattern));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("")]
    public void CreateFile_EmptyPath_ThrowsArgumentException(string path) =>
        Assert.Throws<ArgumentException>(() => BarRegion.CreateFile(path, 4096));

    [Fact]
    public void CreateFile_ZeroSize_ThrowsArgumentOutOfRangeAndCreatesNoFile()
    {
        string path = Path.Combine(_directory, "zero.bin");

        Assert.Throws<ArgumentOutOfRangeException>(() => BarRegion.CreateFile(path, 0));
        Assert.False(File.Exists(path));
    }
}
