using System;
using System.Collections.Generic;
using System.Diagnostics;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Machine.Reports;

namespace P2pEmu.Machine.Scenarios;

/// <summary>
/// One path of the run being measured: its name, the errors it met, and the steps every path shares — seeding a drive
/// with random data, reading a drive back against it, timing passes with the fabric's copy counter, and the report.
/// </summary>
internal sealed class PathRun
{
    /// <summary>Timed passes of a repeatable path after its warm-up; the report keeps the fastest.</summary>
    public const int TimedPasses = 3;

    private readonly Random _random;

    public PathRun(Machine machine, string name, ulong bytes, Random random, int timedPasses = TimedPasses)
    {
        Machine = machine;
        Name = name;
        Bytes = bytes;
        Passes = timedPasses;
        _random = random;
    }

    /// <summary>Timed passes of <see cref="Timed"/>: with more than one, the first is preceded by a warm-up pass.</summary>
    public int Passes { get; }

    public Machine Machine { get; }

    public string Name { get; }

    public ulong Bytes { get; }

    public List<string> Errors { get; } = new();

    /// <summary>Seeded random bytes, as many as the path moves.</summary>
    public byte[] RandomData()
    {
        byte[] data = new byte[Bytes];
        _random.NextBytes(data);
        return data;
    }

    /// <summary>Writes seeded data at <paramref name="position"/> of <paramref name="disk"/> (setup, not timed) and returns it.</summary>
    public byte[] SeedDisk(BlockDevice disk, long position)
    {
        byte[] data = RandomData();
        using HostBuffer? buffer = HostBuffer.Allocate(Machine, Bytes);
        if (buffer is null)
        {
            Errors.Add($"no host pages to seed {disk.Name}");
            return data;
        }

        data.CopyTo(buffer.Writable);
        Check(disk.WriteDirect(position, buffer.Pages, 0, Bytes), $"{disk.Name} seed write");
        return data;
    }

    /// <summary>Reads <paramref name="disk"/> at <paramref name="position"/> and compares it with <paramref name="expected"/>.</summary>
    public bool DiskHolds(BlockDevice disk, long position, ReadOnlySpan<byte> expected)
    {
        using HostBuffer? buffer = HostBuffer.Allocate(Machine, Bytes);
        if (buffer is null || !Check(disk.ReadDirect(position, buffer.Pages, 0, Bytes), $"{disk.Name} read back"))
        {
            return false;
        }

        return Holds(disk.Name, buffer.Writable, expected);
    }

    /// <summary>True when <paramref name="actual"/> equals <paramref name="expected"/>; otherwise records the first bad byte.</summary>
    public bool Holds(string where, ReadOnlySpan<byte> actual, ReadOnlySpan<byte> expected)
    {
        string? mismatch = Integrity.FirstMismatch(actual, expected);
        if (mismatch is not null)
        {
            Errors.Add($"{where} holds other bytes: {mismatch}");
        }

        return mismatch is null;
    }

    /// <summary>
    /// Runs <paramref name="pass"/> once to warm it up (code compiled, pages touched), then <see cref="Passes"/>
    /// times, keeping the fastest (the host's page cache and GC add noise of their own) and the fabric copies of one
    /// pass; then <paramref name="verify"/> checks the end of the path. With one pass there is no warm-up.
    /// </summary>
    public PathReport Timed(string mapType, Action pass, Func<bool> verify)
    {
        if (Passes > 1)
        {
            pass();
        }

        double best = double.MaxValue;
        long copied = 0;
        for (int i = 0; i < Passes && Errors.Count == 0; i++)
        {
            long copiedBefore = Machine.Fabric.BytesCopied;
            long start = Stopwatch.GetTimestamp();
            pass();
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
            copied = Machine.Fabric.BytesCopied - copiedBefore;
        }

        bool ok = Errors.Count == 0 && verify();
        return ok ? Report(mapType, (long)Bytes, best, copied, true) : Report(mapType, 0, 0, 0, false);
    }

    /// <summary>The report of a path that delivered <paramref name="bytes"/> in <paramref name="seconds"/>, the fabric having copied <paramref name="copied"/>.</summary>
    public PathReport Report(string mapType, long bytes, double seconds, long copied, bool checksumOk, string? explanation = null) => new(
        Name,
        mapType,
        bytes,
        seconds,
        seconds > 0 ? bytes / seconds / 1e9 : 0,
        bytes > 0 ? (double)copied / bytes : 0,
        checksumOk,
        Errors.ToArray())
    {
        Explanation = explanation,
    };

    public PathReport Failed(params string[] errors)
    {
        Errors.AddRange(errors);
        return Report("-", 0, 0, 0, false);
    }

    /// <summary>True for a successful block call; otherwise records <paramref name="what"/> and the errno.</summary>
    public bool Check(Result<long> io, string what)
    {
        if (io.IsSuccess)
        {
            return true;
        }

        Errors.Add($"{what}: -{io.Error}");
        return false;
    }

    /// <summary>The kernel's map type for <paramref name="client"/> reaching <paramref name="provider"/>'s p2pmem, by name.</summary>
    public string MapType(PciFunction provider, PciFunction client) => P2pMatrix.MapTypeName(Machine.P2pDma.Explain(provider, client).MapType);

    /// <summary>The kernel's map type for <paramref name="client"/> reaching <paramref name="provider"/>'s memory, by name.</summary>
    public string MapType(P2pProvider provider, PciFunction client) =>
        P2pMatrix.MapTypeName(Machine.P2pDma.PciP2pdmaMapTypeOf(provider, Device.ForPci(client)));
}
