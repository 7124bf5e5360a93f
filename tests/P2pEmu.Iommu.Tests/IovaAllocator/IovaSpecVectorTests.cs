using P2pEmu.Emulator.Addressing;
using P2pEmu.Iommu.IovaAllocator;
using Xunit;

namespace P2pEmu.Iommu.Tests.IovaAllocator;

/// <summary>
/// Spec §6.6 test vectors 1–5, in sequence: 4 KiB granule, empty domain, a PCI device with a 64-bit mask, CPU 0.
/// Each test replays the vectors before it.
/// </summary>
public sealed class IovaSpecVectorTests
{
    private const ulong Page = 4096;
    private const ulong Mask64 = ulong.MaxValue;

    private static DmaIommuCookie NewCookie() => new(new DmaIommuCookieOptions { Domain = new IovaDomainOptions { CpuCount = 2 } });

    private static Iova Alloc(DmaIommuCookie cookie, ulong bytes) => cookie.IommuDmaAllocIova(bytes, Mask64, isPci: true, cpu: 0);

    [Fact]
    public void Vector1_ThreePages_RoundedToFourAndAlignedBelow4GiB()
    {
        using DmaIommuCookie cookie = NewCookie();

        Iova iova = Alloc(cookie, 3 * Page);

        Assert.Equal(0xFFFF_C000UL, iova.Value);
        Assert.Equal(new IovaRange(0xFFFFC, 0xFFFFF), cookie.Domain.FindIova(0xFFFFC));
        Assert.True(cookie.Pci32BitWorkaround);
    }

    [Fact]
    public void Vector2_OnePage_StartsFromThe32BitCachedNode()
    {
        using DmaIommuCookie cookie = NewCookie();
        Alloc(cookie, 3 * Page);
        Assert.Equal(new IovaRange(0xFFFFC, 0xFFFFF), cookie.Domain.Cached32Node);
        long walks = cookie.Domain.TreeWalkSteps;

        Iova iova = Alloc(cookie, Page);

        Assert.Equal(0xFFFF_B000UL, iova.Value);
        Assert.Equal(walks + 1, cookie.Domain.TreeWalkSteps); // the cached node, then straight into the gap below it
    }

    [Fact]
    public void Vector3_FreeThenFourPages_ComesFromTheMagazineWithoutATreeWalk()
    {
        using DmaIommuCookie cookie = NewCookie();
        Iova first = Alloc(cookie, 3 * Page);
        Alloc(cookie, Page);
        cookie.IommuDmaFreeIova(first, 3 * Page, cpu: 0);
        long allocations = cookie.Domain.TreeAllocations;
        long walks = cookie.Domain.TreeWalkSteps;

        Iova again = Alloc(cookie, 4 * Page);

        Assert.Equal(0xFFFF_C000UL, again.Value);
        Assert.Equal(allocations, cookie.Domain.TreeAllocations);
        Assert.Equal(walks, cookie.Domain.TreeWalkSteps);
    }

    [Fact]
    public void Vector4_EighteenPages_RoundedToThirtyTwoAndAligned()
    {
        using DmaIommuCookie cookie = NewCookie();
        Iova first = Alloc(cookie, 3 * Page);
        Alloc(cookie, Page);
        cookie.IommuDmaFreeIova(first, 3 * Page, cpu: 0);
        Alloc(cookie, 4 * Page);
        Assert.Equal(new IovaRange(0xFFFFB, 0xFFFFB), cookie.Domain.Cached32Node);

        Iova iova = Alloc(cookie, 0x12000);

        Assert.Equal(0xFFFC_0000UL, iova.Value);
        Assert.Equal(new IovaRange(0xFFFC0, 0xFFFDF), cookie.Domain.FindIova(0xFFFC0));
    }

    [Fact]
    public void Vector5_FortyPages_AlignedToSixtyFourAndBypassingTheCacheBothWays()
    {
        using DmaIommuCookie cookie = NewCookie();
        Iova first = Alloc(cookie, 3 * Page);
        Alloc(cookie, Page);
        cookie.IommuDmaFreeIova(first, 3 * Page, cpu: 0);
        Alloc(cookie, 4 * Page);
        Alloc(cookie, 0x12000);
        long allocations = cookie.Domain.TreeAllocations;

        Iova iova = Alloc(cookie, 40 * Page);

        Assert.Equal(0xFFF8_0000UL, iova.Value); // (0xFFFC0 - 40) & ~63: not rounded, but aligned to 64 pages
        Assert.Equal(40UL, cookie.Domain.FindIova(0xFFF80)!.Value.SizePages);
        Assert.Equal(allocations + 1, cookie.Domain.TreeAllocations);

        cookie.IommuDmaFreeIova(iova, 40 * Page, cpu: 0);
        Assert.Null(cookie.Domain.FindIova(0xFFF80)); // freed to the tree at once, not cached
        Assert.Equal(0xFFF8_0000UL, Alloc(cookie, 40 * Page).Value);
        Assert.Equal(allocations + 2, cookie.Domain.TreeAllocations);
    }
}
