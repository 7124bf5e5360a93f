using System;
using System.Diagnostics;
using System.Threading;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Iommu.Hardware;
using Xunit;

namespace P2pEmu.Iommu.Tests.Hardware;

/// <summary>The lock-free IOTLB under real races: device threads translate while the host maps and unmaps.</summary>
public sealed class IommuConcurrencyTests
{
    private const ulong Page = 4096;
    private const int Pages = 8;
    private const ulong IovaBase = 0x40_0000;
    private const ulong TargetBase = 0x100_0000;

    /// <summary>
    /// Generation k maps page p to TargetBase + (k * Pages + p) * 4 KiB. A translation that starts after generation k was
    /// unmapped must never return a generation-k (or older) target, and every answer must be a whole, untorn target.
    /// </summary>
    [Fact]
    [Trait("Category", "Stress")]
    public void TryTranslate_WhileTheHostRemaps_NeverReturnsAnUnmappedOrTornTranslation()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate), iotlbSets: 2, iotlbWays: 2);
        IommuDomain domain = m.DomainFor("a");
        m.Unit.Attach(m["b"], domain);
        long unmappedThrough = -1;
        bool stop = false;
        long translations = 0;
        string? failure = null;

        void Translate(PciFunction requester, int seed)
        {
            var random = new Random(seed);
            while (!Volatile.Read(ref stop))
            {
                ulong page = (ulong)random.Next(Pages);
                long gone = Volatile.Read(ref unmappedThrough);
                if (!m.Unit.TryTranslate(requester, requester.Bdf, new DmaAddress(IovaBase + (page * Page) + 8), AccessKind.Write, out BusAddress target, out _))
                {
                    continue;
                }

                ulong slot = (target.Value - 8 - TargetBase) / Page;
                long generation = (long)(slot / Pages);
                if (target.Value < TargetBase || (target.Value & (Page - 1)) != 8 || slot % Pages != page || generation <= gone)
                {
                    Interlocked.CompareExchange(ref failure, $"page {page} -> 0x{target.Value:x} after generation {gone} was unmapped", null);
                }

                Interlocked.Increment(ref translations);
            }
        }

        Thread[] devices = { new(() => Translate(m["a"], 1)), new(() => Translate(m["b"], 2)) };
        foreach (Thread device in devices)
        {
            device.Start();
        }

        var clock = Stopwatch.StartNew();
        for (long generation = 0; clock.ElapsedMilliseconds < 400 || generation < 50; generation++)
        {
            ulong target = TargetBase + ((ulong)generation * Pages * Page);
            Assert.Equal(Errno.None, domain.Map(new Iova(IovaBase), new BusAddress(target), Pages * Page, IommuProt.ReadWrite));
            Thread.SpinWait(2000);
            Assert.Equal(Pages * Page, domain.Unmap(new Iova(IovaBase), Pages * Page));
            Volatile.Write(ref unmappedThrough, generation);
        }

        Volatile.Write(ref stop, true);
        foreach (Thread device in devices)
        {
            device.Join();
        }

        Assert.Null(failure);
        Assert.True(Interlocked.Read(ref translations) > 0);
        Assert.True(m.Unit.IoTlb.Hits > 0);
    }
}
