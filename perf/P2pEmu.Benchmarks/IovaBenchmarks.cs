using System;
using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Iommu.IovaAllocator;

namespace P2pEmu.Benchmarks;

/// <summary>
/// IOVA allocate + free pairs (spec §6.3–6.5). From the per-CPU rcache (the DMA-map hot path), target under 50 ns
/// and 0 B per pair: with the default free check (one tree lookup under the tree lock), with the check off as in
/// Linux, on the calling thread's CPU, and through <see cref="DmaIommuCookie"/>. For information, the same pair
/// through the tree (<c>alloc_iova</c> + <c>free_iova</c>) in a domain holding 1024 other ranges.
/// </summary>
/// <remarks>
/// Not sealed: BenchmarkDotNet derives from benchmark classes and rejects sealed ones. Disposable because it owns
/// the domains; BenchmarkDotNet calls <see cref="Dispose"/> as the global cleanup.
/// </remarks>
[MemoryDiagnoser]
public class IovaBenchmarks : IDisposable
{
    private const ulong Page = 4096;
    private const ulong Limit32 = 0xF_FFFF;   // DMA_BIT_MASK(32) >> 12
    private const ulong Mask64 = ulong.MaxValue;

    private readonly ConcurrentQueue<ulong> _queue = new();
    private IovaDomain _verified = null!;
    private IovaDomain _unverified = null!;
    private IovaDomain _tree = null!;
    private DmaIommuCookie _cookie = null!;

    [GlobalSetup]
    public void Setup()
    {
        var options = new IovaDomainOptions { CpuCount = Environment.ProcessorCount };
        _verified = new IovaDomain(Page, 1, options);
        _unverified = new IovaDomain(Page, 1, new IovaDomainOptions { CpuCount = Environment.ProcessorCount, VerifyFastFrees = false });
        _tree = new IovaDomain(Page, 1, options);
        _cookie = new DmaIommuCookie(new DmaIommuCookieOptions { Domain = options });
        _cookie.ReserveMsiWindow();
        for (int i = 0; i < 1024; i++)
        {
            // Other live mappings, so the tree has depth and the pair under test is not alone in it.
            Expect(_verified.AllocIovaFast(1, Limit32, false, 0) != 0);
            Expect(_unverified.AllocIovaFast(1, Limit32, false, 0) != 0);
            Expect(_tree.AllocIova(1, Limit32, false) is not null);
            Expect(_cookie.IommuDmaAllocIova(Page, Mask64, isPci: true, cpu: 0).Value != 0);
        }

        // Warm each cache with one entry so every measured allocation is a magazine pop.
        _verified.FreeIovaFast(_verified.AllocIovaFast(1, Limit32, false, 0), 1, 0);
        _unverified.FreeIovaFast(_unverified.AllocIovaFast(1, Limit32, false, 0), 1, 0);
        _cookie.IommuDmaFreeIova(_cookie.IommuDmaAllocIova(Page, Mask64, isPci: true, cpu: 0), Page, 0);
        Expect(RcacheAllocFree() != 0 && TreeAllocFree() != 0 && CookieAllocFree() != 0);
    }

    /// <summary>Disposes the domains (their depot trim timers are off, so this only marks them disposed).</summary>
    [GlobalCleanup]
    public void Dispose()
    {
        _verified?.Dispose();
        _unverified?.Dispose();
        _tree?.Dispose();
        _cookie?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>The trivial floor of a thread-safe take-and-return: a ConcurrentQueue enqueue + dequeue pair (PERF-NOTES §3.3).</summary>
    [Benchmark(Baseline = true)]
    public ulong ConcurrentQueuePair()
    {
        _queue.Enqueue(42);
        _queue.TryDequeue(out ulong value);
        return value;
    }

    /// <summary>alloc_iova_fast + free_iova_fast of one page on CPU 0, served by the loaded magazine; free checked against the tree.</summary>
    [Benchmark]
    public ulong RcacheAllocFree()
    {
        ulong pfn = _verified.AllocIovaFast(1, Limit32, false, 0);
        _verified.FreeIovaFast(pfn, 1, 0);
        return pfn;
    }

    /// <summary>The same pair with <see cref="IovaDomainOptions.VerifyFastFrees"/> off: the free never touches the tree lock, as in Linux.</summary>
    [Benchmark]
    public ulong RcacheAllocFreeUnverified()
    {
        ulong pfn = _unverified.AllocIovaFast(1, Limit32, false, 0);
        _unverified.FreeIovaFast(pfn, 1, 0);
        return pfn;
    }

    /// <summary>The pair on the calling thread's CPU (<c>Thread.GetCurrentProcessorId</c>), checked free.</summary>
    [Benchmark]
    public ulong RcacheAllocFreeCurrentCpu()
    {
        ulong pfn = _verified.AllocIovaFast(1, Limit32, false);
        _verified.FreeIovaFast(pfn, 1);
        return pfn;
    }

    /// <summary>iommu_dma_alloc_iova + iommu_dma_free_iova of 4 KiB for a PCI device with a 64-bit mask, CPU 0.</summary>
    [Benchmark]
    public ulong CookieAllocFree()
    {
        Iova iova = _cookie.IommuDmaAllocIova(Page, Mask64, isPci: true, cpu: 0);
        _cookie.IommuDmaFreeIova(iova, Page, 0);
        return iova.Value;
    }

    /// <summary>For information: alloc_iova + free_iova of one page through the tree (no rcache), 1024 other ranges live.</summary>
    [Benchmark]
    public ulong TreeAllocFree()
    {
        IovaRange range = _tree.AllocIova(1, Limit32, sizeAligned: true).GetValueOrDefault();
        _tree.FreeIova(range.PfnLo);
        return range.PfnLo;
    }

    private static void Expect(bool condition)
    {
        if (!condition)
        {
            throw new InvalidOperationException("IOVA benchmark setup failed.");
        }
    }
}
