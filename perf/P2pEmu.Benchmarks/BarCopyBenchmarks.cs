using System;
using BenchmarkDotNet.Attributes;
using P2pEmu.Emulator.Memory;

namespace P2pEmu.Benchmarks;

/// <summary>
/// Region-to-region copy cost against the plain managed memmove it should match (STYLE R16). All buffers are
/// prefaulted in setup, so the numbers are warm-memory copy rates, not first-touch costs (PERF-NOTES §0).
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet derives a class from it to run the benchmarks.</remarks>
[MemoryDiagnoser]
public class BarCopyBenchmarks
{
    private byte[] _hostSource = [];
    private byte[] _hostDestination = [];
    private BarRegion? _source;
    private BarRegion? _destination;

    /// <summary>Bytes per copy: a page, an in-cache block, an L2/L3-sized block.</summary>
    [Params(4 * 1024, 64 * 1024, 1024 * 1024)]
    public int Bytes { get; set; }

    /// <summary>Allocates, fills and prefaults both pairs of buffers.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Random random = new(42);
        _hostSource = new byte[Bytes];
        _hostDestination = new byte[Bytes];
        random.NextBytes(_hostSource);
        _hostDestination.AsSpan().Fill(1);

        _source = BarRegion.CreateAnonymous((ulong)Bytes);
        _destination = BarRegion.CreateAnonymous((ulong)Bytes);
        _source.Prefault(0, (ulong)Bytes);
        _destination.Prefault(0, (ulong)Bytes);
        _hostSource.CopyTo(_source.GetSpan(0, Bytes));
        _destination.Fill(0, (ulong)Bytes, 1);
    }

    /// <summary>Unmaps the regions.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _source?.Dispose();
        _destination?.Dispose();
    }

    /// <summary>Baseline: managed array to managed array.</summary>
    [Benchmark(Baseline = true)]
    public void ArrayToArraySpanCopy() => _hostSource.AsSpan().CopyTo(_hostDestination);

    /// <summary>One region to another through <see cref="BarRegion.Copy"/>, the fabric's DMA primitive.</summary>
    [Benchmark]
    public void BarToBarCopy() => BarRegion.Copy(_source!, 0, _destination!, 0, (ulong)Bytes);

    /// <summary>A managed buffer into a region through a bounds-checked span (host-to-BAR path).</summary>
    [Benchmark]
    public void ArrayToBarSpanCopy() => _hostSource.AsSpan().CopyTo(_destination!.GetSpan(0, Bytes));
}
