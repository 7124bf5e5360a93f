using System;
using System.IO.Hashing;
using BenchmarkDotNet.Attributes;

namespace P2pEmu.Benchmarks;

/// <summary>
/// The integrity checks' cost: XxHash3 (every scenario and test check) and CRC-32 (the RoCEv2 ICRC) of a buffer,
/// against a memcpy of the same buffer. 0 B allocated.
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet derives from benchmark classes.</remarks>
[MemoryDiagnoser]
public class ChecksumBenchmarks
{
    private byte[] _source = [];
    private byte[] _target = [];

    [Params(4096, 1 << 20)]
    public int Bytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _source = new byte[Bytes];
        _target = new byte[Bytes];
        new Random(1).NextBytes(_source);
    }

    [Benchmark(Baseline = true)]
    public void Memcpy() => _source.AsSpan().CopyTo(_target);

    [Benchmark]
    public ulong XxHash3Of() => XxHash3.HashToUInt64(_source);

    [Benchmark]
    public uint Crc32Of() => Crc32.HashToUInt32(_source);
}
