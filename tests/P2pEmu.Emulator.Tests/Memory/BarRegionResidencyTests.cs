using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using P2pEmu.Emulator.Memory;
using Xunit;

namespace P2pEmu.Emulator.Tests.Memory;

[Collection(ProcessWideStateCollection.Name)]
public sealed class BarRegionResidencyTests
{
    private const ulong GiB = 1UL << 30;
    private const long MiB = 1L << 20;

    [Fact]
    public void CreateAnonymous_64GiBTouchThreePages_CreatesFastAndStaysMostlyNonResident()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // relies on /proc/self/status
        }

        long rssBefore = ReadStatusKiB("VmRSS") * 1024;
        Stopwatch stopwatch = Stopwatch.StartNew();
        using BarRegion region = BarRegion.CreateAnonymous(64 * GiB);
        stopwatch.Stop();

        region.Write<ulong>(0, 1);
        region.Write<ulong>(32 * GiB, 2);
        region.Write<ulong>((64 * GiB) - 8, 3);
        long rssAfter = ReadStatusKiB("VmRSS") * 1024;

        Assert.Equal(64 * GiB, region.SizeBytes);
        Assert.Equal(1UL, region.Read<ulong>(0));
        Assert.Equal(2UL, region.Read<ulong>(32 * GiB));
        Assert.Equal(3UL, region.Read<ulong>((64 * GiB) - 8));
        Assert.True(stopwatch.ElapsedMilliseconds < 1000, $"creation took {stopwatch.ElapsedMilliseconds} ms");
        Assert.True(rssAfter - rssBefore < 256 * MiB, $"RSS grew by {(rssAfter - rssBefore) / MiB} MiB");
    }

    [Fact]
    public void Prefault_32MiB_MakesTheRangeResident()
    {
        if (!OperatingSystem.IsLinux() || Environment.OSVersion.Version < new Version(5, 14))
        {
            return; // MADV_POPULATE_WRITE needs Linux 5.14; Prefault is a documented no-op before that
        }

        const long Bytes = 32 * MiB;
        using BarRegion region = BarRegion.CreateAnonymous(Bytes);
        long shmemBefore = ReadStatusKiB("RssShmem") * 1024;

        region.Prefault(0, Bytes);
        long shmemAfter = ReadStatusKiB("RssShmem") * 1024;

        Assert.True(shmemAfter - shmemBefore >= 24 * MiB, $"RssShmem grew by {(shmemAfter - shmemBefore) / MiB} MiB");
        Assert.Equal(0UL, region.Read<ulong>(Bytes - 8));
    }

    private static long ReadStatusKiB(string key)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(key + ":", StringComparison.Ordinal))
            {
                string[] parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(parts[1], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"/proc/self/status has no {key} line.");
    }
}
