using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Runtime.InteropServices;
using P2pEmu.Dma.Block;
using P2pEmu.Machine.Scenarios;

namespace P2pEmu.Machine.Bench;

/// <summary>
/// <c>p2pemu bench</c>: end-to-end throughput of the default run's repeatable paths (P2P offload, bounce, pgmap) per
/// transfer size, and NVMe 4 KiB random-read IOPS per queue depth through the block layer's polled asynchronous path,
/// each against a memcpy of the same size measured in the same run.
/// </summary>
public static class MacroBench
{
    public const string Throughput = "throughput";
    public const string Iops = "iops";

    public static IReadOnlyList<int> DefaultSizes { get; } = [64 << 10, 1 << 20, 4 << 20];

    public static IReadOnlyList<int> DefaultDepths { get; } = [1, 4, 16, 64];

    /// <summary>Reads timed at each queue depth.</summary>
    public const int ReadsPerDepth = 20_000;

    /// <exception cref="ArgumentException">A size is not whole 4 KiB pages, or a depth is not 1 to 256.</exception>
    public static BenchReport Run(string topology, IReadOnlyList<int> sizes, IReadOnlyList<int> depths, IRunProgress? progress = null)
    {
        ArgumentNullException.ThrowIfNull(topology);
        if (sizes.Any(s => s < 4096 || s % 4096 != 0))
        {
            throw new ArgumentException("Transfer sizes are whole 4 KiB pages.", nameof(sizes));
        }

        if (depths.Any(d => d is < 1 or > 256))
        {
            throw new ArgumentException("Queue depths are 1 to 256.", nameof(depths));
        }

        using Machine machine = Machine.Load(topology);
        var throughput = new List<BenchThroughput>();
        progress?.StageBegun(Throughput, sizes.Count);
        foreach (int size in sizes)
        {
            double memcpy = MemcpyBaseline.CopiesPerSecond(size) * size / 1e9;
            foreach (PathReport path in PathScenario.Run(machine, size).Where(p => p.Errors.Count == 0 && p.Bytes == size))
            {
                throughput.Add(new BenchThroughput(path.Name, size, path.Gbps, memcpy, path.Gbps / memcpy, path.CopiesPerByte));
            }

            progress?.StepDone(Throughput, $"{size >> 10} KiB");
        }

        progress?.StageEnded(Throughput);
        var iops = new List<BenchIops>();
        BlockDevice? disk = machine.BlockDevices.Values.OrderBy(d => d.Name, StringComparer.Ordinal).FirstOrDefault();
        if (disk is not null)
        {
            progress?.StageBegun(Iops, depths.Count);
            double copies = MemcpyBaseline.CopiesPerSecond(4096);
            foreach (int depth in depths)
            {
                double rate = ReadIops(machine, disk, depth);
                iops.Add(new BenchIops(disk.Name, depth, rate, copies, rate / copies));
                progress?.StepDone(Iops, $"QD {depth}");
            }

            progress?.StageEnded(Iops);
        }

        var host = new BenchMachine(Environment.ProcessorCount, RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription, Configuration);
        return new BenchReport(topology, host, throughput, iops);
    }

    /// <summary>Debug or Release: checked arithmetic and no optimization make a Debug build several times slower.</summary>
    public static string Configuration =>
#if DEBUG
        "Debug";
#else
        "Release";
#endif

    private static double ReadIops(Machine machine, BlockDevice disk, int depth)
    {
        ulong[] pages = new ulong[depth];
        for (int i = 0; i < depth; i++)
        {
            pages[i] = machine.Pages.AllocPage().Value;
        }

        try
        {
            var runner = new QueueDepthRunner(disk, machine.P2pDma, pages, disk.SizeBytes / 4096, (ulong)depth * 7919);
            runner.Run(Math.Max(1000, depth * 16));
            long start = Stopwatch.GetTimestamp();
            runner.Run(ReadsPerDepth);
            return ReadsPerDepth / Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        finally
        {
            foreach (ulong page in pages)
            {
                machine.Pages.FreePage(page);
            }
        }
    }
}
