using System;
using BenchmarkDotNet.Attributes;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Memory;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Benchmarks;

/// <summary>
/// A DMA between two memory BARs on hb0 (a behind sw0.dp0, b behind sw0.dp1) against a plain memmove of
/// the same bytes. The copy is issued by c (behind sw0.dp2), so both its reads of a's BAR and its writes
/// to b's BAR are peer to peer in the switch. Target: the routed 1 MiB copy at ≥ 90% of memcpy, 0 B per op.
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet derives from benchmark classes and rejects sealed ones.</remarks>
[MemoryDiagnoser]
public class PeerCopyBenchmarks
{
    /// <summary>Where the bounce buffer lives in host RAM (a bus address below 2 GiB is a RAM offset).</summary>
    private const ulong BounceRamAddress = 32 * BenchTopologies.MiB;

    private PcieFabric _fabric = null!;
    private BarRegion _aMemory = null!;
    private BarRegion _bMemory = null!;
    private DmaPort _cPort = null!;
    private DmaPort _aPort = null!;
    private byte[] _source = null!;
    private DmaAddress _aBar;
    private DmaAddress _bBar;
    private DmaAddress _bounce;

    [Params(4096, 65536, 1048576)]
    public int Bytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _fabric = FabricBuilder.Build(BenchTopologies.Hb0());
        PciBar aBar = ((PciEndpoint)_fabric["a"]).Bars[0];
        PciBar bBar = ((PciEndpoint)_fabric["b"]).Bars[0];
        _aMemory = aBar.Memory!;
        _bMemory = bBar.Memory!;
        _aBar = new DmaAddress(aBar.Address);
        _bBar = new DmaAddress(bBar.Address);
        _bounce = new DmaAddress(BounceRamAddress);
        _cPort = new DmaPort(_fabric, _fabric["c"]);
        _aPort = new DmaPort(_fabric, _fabric["a"]);

        // Pre-touch every byte a benchmark reads or writes, so no timed pass pays first-touch page faults.
        ulong length = (ulong)Bytes;
        _source = new byte[Bytes];
        new Random(42).NextBytes(_source);
        _aMemory.Prefault(0, length);
        _bMemory.Prefault(0, length);
        _source.CopyTo(_aMemory.GetSpan(0, Bytes));
        _bMemory.Fill(0, length, 0x5A);
        _fabric.TryFindRam(BounceRamAddress, out ulong ramOffset, out ulong _);
        _fabric.Ram.Region.Prefault(ramOffset, length);
        _fabric.Ram.Region.Fill(ramOffset, length, 0xA5);

        long copiedBefore = _fabric.BytesCopied;
        Check(_cPort.Copy(_aBar, _bBar, length));
        if (_fabric.BytesOnPath(RoutePath.SwitchPeer) != 2 * (long)length || _fabric.BytesCopied - copiedBefore != (long)length)
        {
            throw new InvalidOperationException("The a → b copy did not go peer to peer through the switch as a single copy.");
        }

        if (!_aMemory.GetSpan(0, Bytes).SequenceEqual(_bMemory.GetSpan(0, Bytes)))
        {
            throw new InvalidOperationException("The a → b copy did not move the bytes.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _fabric.Dispose();

    /// <summary>memcpy of the same buffers: a's BAR memory → b's BAR memory with <see cref="Span{T}.CopyTo"/>.</summary>
    [Benchmark(Baseline = true)]
    public void SpanCopyBarToBar() => _aMemory.GetSpan(0, Bytes).CopyTo(_bMemory.GetSpan(0, Bytes));

    /// <summary>c's DMA engine copies a's BAR → b's BAR; both sides route peer to peer in sw0 (one copy).</summary>
    [Benchmark]
    public ulong DmaCopyPeerAtSwitch() => Check(_cPort.Copy(_aBar, _bBar, (ulong)Bytes));

    /// <summary>a writes a device-local byte[] into b's BAR, peer to peer in sw0 (one copy).</summary>
    [Benchmark]
    public ulong DmaWriteArrayToPeerBar() => Check(_aPort.Write(_bBar, _source.AsSpan(0, Bytes)));

    /// <summary>For contrast: c bounces a's BAR → host RAM → b's BAR (two DMAs, two copies, both via the root complex).</summary>
    [Benchmark]
    public ulong DmaCopyBouncedThroughRam()
    {
        ulong length = (ulong)Bytes;
        Check(_cPort.Copy(_aBar, _bounce, length));
        return Check(_cPort.Copy(_bounce, _bBar, length));
    }

    private static ulong Check(in DmaResult result) =>
        result.IsSuccess ? result.BytesTransferred : throw new InvalidOperationException($"DMA failed: {result}");
}
