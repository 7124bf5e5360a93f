using System.Collections.Generic;

namespace P2pEmu.Machine.Bench;

/// <summary>
/// A macro benchmark run: where it ran, each path's end-to-end throughput per transfer size, and NVMe 4 KiB random-read
/// IOPS per queue depth — every figure beside a memcpy of the same size in the same run, and their ratio.
/// </summary>
public sealed record BenchReport(string Topology, BenchMachine Machine, IReadOnlyList<BenchThroughput> Throughput, IReadOnlyList<BenchIops> Iops);

/// <summary>The host the figures come from.</summary>
public sealed record BenchMachine(int Processors, string Os, string Runtime, string Configuration);

/// <summary>One path at one size: GB/s delivered, GB/s of a same-run memcpy of that size, and path / memcpy.</summary>
public sealed record BenchThroughput(string Path, long Bytes, double Gbps, double MemcpyGbps, double Ratio, double CopiesPerByte);

/// <summary>4 KiB random reads at one queue depth: IOPS, same-run 4 KiB memcpy copies per second, and IOPS / copies.</summary>
public sealed record BenchIops(string Disk, int QueueDepth, double Iops, double MemcpyCopiesPerSecond, double Ratio);
