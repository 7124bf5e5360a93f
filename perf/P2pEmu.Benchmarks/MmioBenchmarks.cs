using System;
using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Benchmarks;

/// <summary>
/// A CPU MMIO register access through the root complex to a device's register BAR (the NVMe controller's CSTS, the
/// way the driver polls it), against reading the same four bytes out of an array. 0 B allocated.
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet derives from benchmark classes. Disposable: it owns the machine.</remarks>
[MemoryDiagnoser]
public class MmioBenchmarks : IDisposable
{
    private const ulong Csts = 0x1C;
    private readonly byte[] _register = new byte[8];
    private readonly byte[] _array = new byte[4096];
    private Machine.Machine _machine = null!;
    private ulong _bar0;

    [GlobalSetup]
    public void Setup()
    {
        _machine = Machine.Machine.Load("default");
        _bar0 = ((PciEndpoint)_machine.Fabric["nvme0"]).GetBar(0)!.Address;
        if (!_machine.Fabric.TryHostRead(_bar0 + Csts, _register.AsSpan(0, 4)) || (BinaryPrimitives.ReadUInt32LittleEndian(_register) & 1) != 1)
        {
            throw new InvalidOperationException("nvme0's CSTS.RDY is not readable through the root complex.");
        }
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _machine?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(Baseline = true)]
    public uint ArrayRead32() => BinaryPrimitives.ReadUInt32LittleEndian(_array.AsSpan((int)Csts));

    [Benchmark]
    public uint MmioRead32Csts()
    {
        _machine.Fabric.TryHostRead(_bar0 + Csts, _register.AsSpan(0, 4));
        return BinaryPrimitives.ReadUInt32LittleEndian(_register);
    }
}
