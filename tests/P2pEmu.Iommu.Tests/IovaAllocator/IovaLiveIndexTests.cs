using System;
using System.Threading;
using P2pEmu.Iommu.IovaAllocator;
using Xunit;

namespace P2pEmu.Iommu.Tests.IovaAllocator;

/// <summary>The index of live ranges that fast frees are checked against without the tree lock.</summary>
public sealed class IovaLiveIndexTests
{
    [Fact]
    public void PagesAt_AddedRange_IsItsSize_OtherPfnsAreZero()
    {
        var index = new IovaLiveIndex();
        index.Add(0x1000, 4);
        index.Add(0x1004, 1);

        Assert.Equal(4UL, index.PagesAt(0x1000));
        Assert.Equal(1UL, index.PagesAt(0x1004));
        Assert.Equal(0UL, index.PagesAt(0x1001)); // inside a range, not its start
        Assert.Equal(0UL, index.PagesAt(0x2000));
        Assert.Equal(2, index.Count);
    }

    [Fact]
    public void Remove_LeavesTheOthersFindable_AndThePfnCanComeBackWithAnotherSize()
    {
        var index = new IovaLiveIndex();
        for (ulong pfn = 1; pfn <= 40; pfn++)
        {
            index.Add(pfn, pfn);
        }

        for (ulong pfn = 1; pfn <= 40; pfn += 2)
        {
            index.Remove(pfn);
        }

        for (ulong pfn = 1; pfn <= 40; pfn++)
        {
            Assert.Equal(pfn % 2 == 0 ? pfn : 0, index.PagesAt(pfn));
        }

        index.Add(7, 100);
        Assert.Equal(100UL, index.PagesAt(7));
        Assert.Equal(21, index.Count);
    }

    [Fact]
    public void ManyRanges_AddedAndRemovedInWaves_StayExact()
    {
        var index = new IovaLiveIndex();
        const ulong Ranges = 10_000;
        for (int wave = 0; wave < 3; wave++)
        {
            for (ulong i = 0; i < Ranges; i++)
            {
                index.Add(0xF_0000 - (i * 8), 8);
            }

            Assert.Equal((int)Ranges, index.Count);
            for (ulong i = 0; i < Ranges; i++)
            {
                Assert.Equal(8UL, index.PagesAt(0xF_0000 - (i * 8)));
                Assert.Equal(0UL, index.PagesAt(0xF_0000 - (i * 8) + 1));
            }

            for (ulong i = 0; i < Ranges; i++)
            {
                index.Remove(0xF_0000 - (i * 8));
            }

            Assert.Equal(0, index.Count);
            Assert.Equal(0UL, index.PagesAt(0xF_0000));
        }
    }

    [Fact]
    public void Remove_APfnThatIsNotThere_Throws()
    {
        var index = new IovaLiveIndex();
        index.Add(5, 1);

        Assert.Throws<InvalidOperationException>(() => index.Remove(6));
        Assert.Equal(1UL, index.PagesAt(5));
    }

    [Fact]
    public void Readers_WhileTheWriterChurnsOtherRanges_AlwaysSeeTheLiveOnes()
    {
        var index = new IovaLiveIndex();
        const int Kept = 64;
        for (ulong i = 0; i < Kept; i++)
        {
            index.Add(1_000_000 + (i * 16), 1 + i);
        }

        using var stop = new CancellationTokenSource();
        long wrong = 0;
        long reads = 0;
        void Read()
        {
            while (!stop.IsCancellationRequested)
            {
                for (ulong i = 0; i < Kept; i++)
                {
                    if (index.PagesAt(1_000_000 + (i * 16)) != 1 + i)
                    {
                        Interlocked.Increment(ref wrong);
                    }
                }

                Interlocked.Increment(ref reads);
            }
        }

        var readers = new[] { new Thread(Read), new Thread(Read) };
        foreach (Thread reader in readers)
        {
            reader.Start();
        }

        // Churn: waves of other ranges grow the table (rebuilds) and leave tombstones in the kept ranges' chains.
        for (int wave = 0; wave < 200; wave++)
        {
            for (ulong pfn = 1; pfn <= 500; pfn++)
            {
                index.Add(pfn, 1);
            }

            for (ulong pfn = 1; pfn <= 500; pfn++)
            {
                index.Remove(pfn);
            }
        }

        while (Interlocked.Read(ref reads) < 100)
        {
            Thread.Yield();
        }

        stop.Cancel();
        foreach (Thread reader in readers)
        {
            reader.Join();
        }

        Assert.Equal(0, wrong);
        Assert.Equal(Kept, index.Count);
    }
}
