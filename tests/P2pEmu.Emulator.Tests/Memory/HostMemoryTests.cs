using System;
using System.IO;
using P2pEmu.Emulator.Memory;
using Xunit;

namespace P2pEmu.Emulator.Tests.Memory;

public sealed class HostMemoryTests
{
    [Fact]
    public void Constructor_NoBackingPath_AnonymousRegionOfSize()
    {
        using HostMemory ram = new(1 << 20);

        Assert.Equal(1UL << 20, ram.SizeBytes);
        Assert.Equal(1UL << 20, ram.Region.SizeBytes);
        Assert.Null(ram.Region.BackingPath);
    }

    [Fact]
    public void Constructor_BackingPath_RegionWritesReachTheFile()
    {
        string path = Path.Combine(Path.GetTempPath(), "p2pemu-ram-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (HostMemory ram = new(8192, path))
            {
                ram.Region.Write<ulong>(4096, 0x0123456789ABCDEF);
                Assert.Equal(Path.GetFullPath(path), ram.Region.BackingPath);
            }

            Assert.Equal(0x0123456789ABCDEFUL, BitConverter.ToUInt64(File.ReadAllBytes(path), 4096));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Dispose_Twice_DisposesRegionOnce()
    {
        HostMemory ram = new(4096);

        ram.Dispose();
        ram.Dispose();

        Assert.Throws<ObjectDisposedException>(() => ram.Region.GetSpan(0, 1));
    }

    [Fact]
    public void Constructor_ZeroSize_ThrowsArgumentOutOfRange() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new HostMemory(0));
}
