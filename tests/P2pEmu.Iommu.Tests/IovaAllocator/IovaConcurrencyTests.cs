using System;
using System.Collections.Generic;
using System.Threading;
using P2pEmu.Iommu.IovaAllocator;
using Xunit;

namespace P2pEmu.Iommu.Tests.IovaAllocator;

/// <summary>Two threads on the fast path at once: the locks keep every handed-out range exclusive and the tree sound.</summary>
public sealed class IovaConcurrencyTests
{
    private const ulong StartPfn = 0xFF000;   // 4096 pages below 4 GiB: small enough to exhaust and flush
    private const ulong Limit32 = 0xF_FFFF;
    private const int Iterations = 20_000;

    [Theory]
    [Trait("Category", "Smoke")]
    [InlineData(IovaMagazineModel.Unbounded127)]
    [InlineData(IovaMagazineModel.Capped128)]
    public void FastPath_TwoThreadsAllocatingAndFreeing_NeverShareAPageAndLeaveTheTreeConsistent(IovaMagazineModel model)
    {
        using var domain = new IovaDomain(4096, StartPfn, new IovaDomainOptions { CpuCount = 2, MagazineModel = model });
        int[] owner = new int[(int)(Limit32 - StartPfn + 1)]; // which thread holds each page, 0 = none
        int overlaps = 0;
        Exception? failure = null;

        void Run(int id, bool explicitCpus)
        {
            try
            {
                var random = new Random(id);
                var held = new List<(ulong Pfn, ulong Size)>();
                for (int i = 0; i < Iterations; i++)
                {
                    int cpu = explicitCpus ? i % 2 : domain.CurrentCpu;
                    if (held.Count == 0 || random.Next(100) < 55)
                    {
                        ulong size = (ulong)random.Next(1, 41);
                        ulong pfn = domain.AllocIovaFast(size, Limit32, flushRcache: random.Next(4) == 0, cpu);
                        if (pfn == 0)
                        {
                            continue;
                        }

                        for (ulong p = pfn; p < pfn + size; p++)
                        {
                            if (Interlocked.CompareExchange(ref owner[p - StartPfn], id, 0) != 0)
                            {
                                Interlocked.Increment(ref overlaps);
                            }
                        }

                        held.Add((pfn, size));
                    }
                    else
                    {
                        int index = random.Next(held.Count);
                        (ulong pfn, ulong size) = held[index];
                        held[index] = held[^1];
                        held.RemoveAt(held.Count - 1);
                        for (ulong p = pfn; p < pfn + size; p++)
                        {
                            Volatile.Write(ref owner[p - StartPfn], 0);
                        }

                        domain.FreeIovaFast(pfn, size, cpu);
                    }
                }

                foreach ((ulong pfn, ulong size) in held)
                {
                    for (ulong p = pfn; p < pfn + size; p++)
                    {
                        Volatile.Write(ref owner[p - StartPfn], 0);
                    }

                    domain.FreeIovaFast(pfn, size, explicitCpus ? 1 : domain.CurrentCpu);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Interlocked.CompareExchange(ref failure, e, null);
            }
        }

        var a = new Thread(() => Run(1, explicitCpus: false));
        var b = new Thread(() => Run(2, explicitCpus: true));
        a.Start();
        b.Start();
        a.Join();
        b.Join();

        Assert.Null(failure);
        Assert.Equal(0, overlaps);
        Assert.Null(domain.Validate());
        domain.FlushRcaches();
        Assert.Empty(domain.Snapshot()); // everything was freed: once the caches are flushed, only the anchor is left
        Assert.Equal(domain.Dma32BitPfn, domain.Max32AllocSize);
    }
}
