using System;
using System.Collections.Generic;
using System.Linq;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Topology;
using P2pEmu.Iommu.IovaAllocator;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Iommu.Tests.IovaAllocator;

/// <summary>The dma-iommu policy of spec §6.5: limits, the 32-bit-first workaround, IOVA 0, reserved regions.</summary>
public sealed class DmaIommuCookieTests
{
    private const ulong Page = 4096;
    private const ulong Mask48 = (1UL << 48) - 1;

    private static DmaIommuCookie NewCookie(ulong apertureStart = 0, bool forceDac = false, bool dropFailed = true, ulong busDmaLimit = 0, ulong? apertureEnd = null) =>
        new(new DmaIommuCookieOptions
        {
            ApertureStart = apertureStart,
            ForceDac = forceDac,
            DropFailed32BitAttempt = dropFailed,
            BusDmaLimit = busDmaLimit,
            ApertureEnd = apertureEnd,
            Domain = new IovaDomainOptions { CpuCount = 2 },
        });

    /// <summary>Two host bridges; hb0 has 32-bit and 64-bit BARs, hb1 only a 64-bit one (so its 32-bit window is empty).</summary>
    private static TopologyDescription TwoHostBridges() => Topo.Machine(
        Topo.HostBridge("hb0", Topo.HostDevice(), Topo.RootPort("rp0", Topo.TwoBarEndpoint("a", 1 * Topo.MiB, 64 * Topo.MiB)), Topo.RootPort("rp1", Topo.TwoBarEndpoint("b", 2 * Topo.MiB, 16 * Topo.MiB))),
        Topo.HostBridge("hb1", 0, 0x80, false, Topo.RootPort("rp2", Topo.Endpoint("c", 8 * Topo.MiB))));

    private static List<AddressRange> Windows(PcieFabric fabric) =>
        fabric.HostBridges.SelectMany(hb => new[] { hb.Memory32Window, hb.Memory64Window }).ToList();

    [Fact]
    public void Ctor_Default_BasePfnIsOneSoIova0IsNeverUsable()
    {
        using var cookie = new DmaIommuCookie();

        Assert.Equal(1UL, cookie.Domain.StartPfn);
        Assert.Equal(4096UL, cookie.Domain.GranuleBytes);
        Assert.True(cookie.Pci32BitWorkaround);
    }

    [Fact]
    public void Ctor_ApertureStart_SetsTheBasePfn()
    {
        using DmaIommuCookie cookie = NewCookie(apertureStart: 0x10_0000);

        Assert.Equal(0x100UL, cookie.Domain.StartPfn);
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(3000UL)]
    [InlineData(8192UL)]
    public void Ctor_BadGranule_Throws(ulong granule) =>
        Assert.Throws<ArgumentException>(() => new DmaIommuCookie(new DmaIommuCookieOptions { GranuleBytes = granule }));

    [Fact]
    public void IommuDmaAllocIova_Pci64BitMask_AllocatesBelow4GiBFirst()
    {
        using DmaIommuCookie cookie = NewCookie();

        Assert.Equal(0xFFFF_F000UL, cookie.IommuDmaAllocIova(Page, Mask48, isPci: true, cpu: 0).Value);
        Assert.True(cookie.Pci32BitWorkaround);
    }

    [Fact]
    public void IommuDmaAllocIova_NonPci_AllocatesFromTheTopOfItsMask()
    {
        using DmaIommuCookie cookie = NewCookie();

        Assert.Equal(0xFFFF_FFFF_F000UL, cookie.IommuDmaAllocIova(Page, Mask48, isPci: false, cpu: 0).Value);
        Assert.Equal(0xFFFF_FFFF_C000UL, cookie.IommuDmaAllocIova(2 * Page, Mask48, isPci: false, cpu: 0).Value);
    }

    [Fact]
    public void IommuDmaAllocIova_ForceDac_SkipsThe32BitAttempt()
    {
        using DmaIommuCookie cookie = NewCookie(forceDac: true);

        Assert.False(cookie.Pci32BitWorkaround);
        Assert.Equal(0xFFFF_FFFF_F000UL, cookie.IommuDmaAllocIova(Page, Mask48, isPci: true, cpu: 0).Value);
    }

    [Theory]
    [InlineData(true, 0xFFFF_FFFF_E000UL)]  // newer kernels: the device stays on 64-bit IOVAs
    [InlineData(false, 0xFFFF_F000UL)]      // older kernels: every allocation tries below 4 GiB again
    public void IommuDmaAllocIova_32BitSpaceFull_FallsBackToTheFullMaskAndMayDropTheWorkaround(bool dropFailed, ulong afterSpaceReturns)
    {
        using DmaIommuCookie cookie = NewCookie(apertureStart: 0xFFFF_0000, dropFailed: dropFailed); // 16 pages below 4 GiB
        Iova low = cookie.IommuDmaAllocIova(16 * Page, Mask48, isPci: true, cpu: 0);
        Assert.Equal(0xFFFF_0000UL, low.Value);

        Assert.Equal(0xFFFF_FFFF_F000UL, cookie.IommuDmaAllocIova(Page, Mask48, isPci: true, cpu: 0).Value);
        Assert.Equal(!dropFailed, cookie.Pci32BitWorkaround);

        cookie.Domain.FreeIova(low.Value >> 12); // the 32-bit space is free in the tree again
        Assert.Equal(afterSpaceReturns, cookie.IommuDmaAllocIova(Page, Mask48, isPci: true, cpu: 0).Value);
    }

    [Fact]
    public void IommuDmaAllocIova_BusDmaLimit_CapsTheMask()
    {
        using DmaIommuCookie cookie = NewCookie(busDmaLimit: 0x3FFF_FFFF);

        Assert.Equal(0x3FFF_F000UL, cookie.IommuDmaAllocIova(Page, Mask48, isPci: false, cpu: 0).Value);
    }

    [Fact]
    public void IommuDmaAllocIova_ForcedAperture_ClampsTheMask()
    {
        using DmaIommuCookie cookie = NewCookie(apertureEnd: 0x7F_FFFF_FFFF);

        Assert.Equal(0x7F_FFFF_F000UL, cookie.IommuDmaAllocIova(Page, Mask48, isPci: false, cpu: 0).Value);
    }

    [Fact]
    public void IommuDmaAllocIova_TinySpace_NeverHandsOutIova0()
    {
        using DmaIommuCookie cookie = NewCookie();
        var got = new List<ulong>();
        for (int i = 0; i < 4; i++)
        {
            got.Add(cookie.IommuDmaAllocIova(Page, 0x3FFF, isPci: false, cpu: 0).Value);
        }

        Assert.Equal(new ulong[] { 0x3000, 0x2000, 0x1000, 0 }, got); // the last is the failure value, not an IOVA
        Assert.Null(cookie.Domain.FindIova(0));
    }

    [Fact]
    public void IommuDmaAllocIova_Misuse_Throws()
    {
        using DmaIommuCookie cookie = NewCookie();

        Assert.Throws<ArgumentException>(() => cookie.IommuDmaAllocIova(0, Mask48, true, 0));
        Assert.Throws<ArgumentException>(() => cookie.IommuDmaAllocIova(Page + 1, Mask48, true, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => cookie.IommuDmaAllocIova(Page, 0, true, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => cookie.IommuDmaAllocIova(Page, Mask48, true, 5));
        Iova iova = cookie.IommuDmaAllocIova(Page, Mask48, true, 0);
        Assert.Throws<ArgumentException>(() => cookie.IommuDmaFreeIova(iova, 100, 0));
        Assert.Throws<ArgumentException>(() => cookie.IommuDmaFreeIova(new Iova(iova.Value - Page), Page, 0));
    }

    [Fact]
    public void IommuDmaFreeIova_ThenAlloc_ReusesTheCachedIova()
    {
        using DmaIommuCookie cookie = NewCookie();
        Iova iova = cookie.IommuDmaAllocIova(2 * Page, Mask48, true);
        cookie.IommuDmaFreeIova(iova, 2 * Page, cookie.Domain.CurrentCpu);

        int cached = Enumerable.Range(0, 2).Sum(cpu => cookie.Domain.CpuMagazineCounts(cpu, 1).Loaded);
        Assert.Equal(1, cached);
    }

    [Fact]
    public void ReserveMsiWindow_ThenAllocateUnderIt_SkipsTheWindow()
    {
        using DmaIommuCookie cookie = NewCookie();

        Assert.Equal(new IovaRange(0xFEE00, 0xFEEFF), cookie.ReserveMsiWindow());
        Assert.Equal(0xFEDF_F000UL, cookie.IommuDmaAllocIova(Page, 0xFEEF_FFFF, isPci: false, cpu: 0).Value);
    }

    [Fact]
    public void ReserveMsiWindow_RandomAllocations_NeverLandInTheWindow()
    {
        using DmaIommuCookie cookie = NewCookie(apertureStart: 0xFE00_0000);
        cookie.ReserveMsiWindow();
        var random = new Random(7);
        int failures = 0;
        for (int i = 0; i < 3000; i++)
        {
            ulong pages = (ulong)random.Next(1, 48);
            Iova iova = cookie.IommuDmaAllocIova(pages * Page, 0xFFFF_FFFF, isPci: true, cpu: random.Next(2));
            if (iova.Value == 0)
            {
                failures++;
                continue;
            }

            ulong end = iova.Value + (pages * Page) - 1;
            Assert.False(iova.Value <= 0xFEEF_FFFF && end >= 0xFEE0_0000, $"{iova} + {pages} pages overlaps the MSI window");
        }

        Assert.True(failures > 0, "the 32 MiB aperture never filled, so allocation around the window was not forced");
    }

    [Fact]
    public void ReserveHostBridgeWindows_RealFabric_AllocationsSkipEveryWindow()
    {
        using PcieFabric fabric = FabricBuilder.Build(TwoHostBridges());
        List<AddressRange> windows = Windows(fabric);
        List<AddressRange> nonEmpty = windows.Where(w => !w.IsEmpty).ToList();
        Assert.Equal(3, nonEmpty.Count); // hb0 32/64-bit, hb1 64-bit

        using DmaIommuCookie cookie = NewCookie();
        Assert.Equal(3, cookie.ReserveHostBridgeWindows(windows));

        foreach (AddressRange window in nonEmpty)
        {
            // Top-down from inside the window: the first candidate is the window's last page, which is reserved.
            Iova iova = cookie.IommuDmaAllocIova(Page, window.Limit, isPci: false, cpu: 0);
            Assert.True(iova.Value != 0 && iova.Value + Page <= window.Base, $"{iova} not below {window}");
            Assert.DoesNotContain(windows, w => w.Contains(iova.Value));
            Assert.NotNull(cookie.Domain.FindIova(window.Base >> 12));
            Assert.NotNull(cookie.Domain.FindIova(window.Limit >> 12));
        }
    }

    [Fact]
    public void ReserveHostBridgeWindows_RandomAllocationsAroundTheWindows_NeverOverlapAPeerBar()
    {
        using PcieFabric fabric = FabricBuilder.Build(TwoHostBridges());
        List<AddressRange> windows = Windows(fabric).Where(w => !w.IsEmpty).ToList();
        using DmaIommuCookie cookie = NewCookie();
        foreach (HostBridge hostBridge in fabric.HostBridges)
        {
            cookie.ReserveHostBridgeWindows(hostBridge);
        }

        var random = new Random(3);
        var owned = new IntervalReference();
        for (int i = 0; i < 4000; i++)
        {
            AddressRange near = windows[random.Next(windows.Count)];
            ulong limit = near.Limit + ((ulong)random.Next(0, 64) * Page); // just above or inside a window
            ulong pages = (ulong)random.Next(1, 40);
            Iova iova = cookie.IommuDmaAllocIova(pages * Page, limit, isPci: random.Next(2) == 0, cpu: random.Next(2));
            Assert.NotEqual(0UL, iova.Value);
            ulong end = iova.Value + (pages * Page) - 1;
            Assert.True(end <= limit, $"{iova} above limit 0x{limit:x}");
            foreach (AddressRange window in windows)
            {
                Assert.False(iova.Value <= window.Limit && end >= window.Base, $"{iova} + {pages} pages overlaps peer window {window}");
            }

            owned.Add(iova.Value >> 12, end >> 12);
            if (random.Next(3) == 0)
            {
                (ulong lo, ulong hi) = owned.RemoveAt(random.Next(owned.Count));
                cookie.IommuDmaFreeIova(new Iova(lo << 12), (hi - lo + 1) * Page, random.Next(2));
            }
        }

        Assert.Null(cookie.Domain.Validate());
    }

    [Fact]
    public void ReserveHostBridgeWindows_EmptyWindow_IsSkipped()
    {
        using PcieFabric fabric = FabricBuilder.Build(TwoHostBridges());
        HostBridge hb1 = fabric.HostBridges[1];
        Assert.True(hb1.Memory32Window.IsEmpty);
        using DmaIommuCookie cookie = NewCookie();

        Assert.Equal(1, cookie.ReserveHostBridgeWindows(hb1));

        Assert.Single(cookie.Domain.Snapshot());
        Assert.Equal(0x3000UL, cookie.IommuDmaAllocIova(Page, 0x3FFF, isPci: false, cpu: 0).Value);
    }

    [Fact]
    public void ReserveRegion_Misuse_Throws()
    {
        using DmaIommuCookie cookie = NewCookie();

        Assert.Throws<ArgumentOutOfRangeException>(() => cookie.ReserveRegion(0x1000, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => cookie.ReserveRegion(ulong.MaxValue - 10, 100));
        Assert.Throws<ArgumentNullException>(() => cookie.ReserveHostBridgeWindows((IEnumerable<AddressRange>)null!));
    }

    [Fact]
    public void ReserveRegion_UnalignedRegion_ReservesEveryTouchedPage()
    {
        using DmaIommuCookie cookie = NewCookie();

        Assert.Equal(new IovaRange(0x10, 0x12), cookie.ReserveRegion(0x10_800, 0x2000));
    }
}
