using System;
using System.Linq;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using Xunit;

namespace P2pEmu.Dma.Tests.P2pDma;

public sealed class PciP2pdmaAddResourceTests
{
    private const ulong MiB = ProviderMachine.MiB;

    [Fact]
    public void AddResource_WholeBar_CreatesPoolPagemapAndLogsTheRange()
    {
        using var m = new ProviderMachine();
        PciBar bar = ProviderMachine.Bar(m.A, 0);

        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 0, 0));

        PciP2pdma state = m.Host.GetP2pdma(m.A)!;
        Assert.NotNull(state.Pool);
        Assert.Equal(64 * MiB, state.Pool.SizeBytes);
        Assert.Equal(64 * MiB, state.Pool.AvailableBytes);
        P2pPagemap pagemap = Assert.Single(state.Pagemaps);
        Assert.Equal(new AddressRange(bar.Address, 64 * MiB), pagemap.Range);
        Assert.Same(state.Mem[0], pagemap.Provider);
        Assert.Equal(0UL, pagemap.BarOffset);
        Assert.Equal(0, pagemap.References);
        Assert.False(pagemap.IsDying);
        Assert.False(state.P2pmemPublished);
        Assert.Equal(ProviderMachine.AddedLine(m.A, bar.Address, 64 * MiB), Assert.Single(m.Host.KernelLog));
    }

    [Fact]
    public void AddResource_LogLine_UsesKernelHexFormat()
    {
        using var m = new ProviderMachine();
        PciBar bar = ProviderMachine.Bar(m.C, 0);

        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.C, 0, 2 * MiB, 2 * MiB));

        // %#llx: lowercase hex with a 0x prefix, inclusive end.
        string expected = string.Create(
            System.Globalization.CultureInfo.InvariantCulture,
            $"pci {m.C.Address}: added peer-to-peer DMA memory 0x{bar.Address + (2 * MiB):x}-0x{bar.Address + (4 * MiB) - 1:x}");
        Assert.Equal(expected, Assert.Single(m.Host.KernelLog));
        Assert.Matches("^pci [0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]: added peer-to-peer DMA memory 0x[0-9a-f]+-0x[0-9a-f]+fff$", expected);
    }

    [Fact]
    public void AddResource_BarThatDoesNotExist_ReturnsEinvalBeforeInit()
    {
        using var m = new ProviderMachine();

        Assert.Equal(Errno.EINVAL, m.Host.PciP2pdmaAddResource(m.A, 1, 0, 0));

        Assert.Null(m.Host.GetP2pdma(m.A));
    }

    [Fact]
    public void AddResource_DeviceWithoutBars_ReturnsEinval()
    {
        using var m = new ProviderMachine();

        Assert.Equal(Errno.EINVAL, m.Host.PciP2pdmaAddResource(m.Fabric["dp0"], 0, 0, 0));
    }

    [Theory]
    [InlineData(64UL << 20)]
    [InlineData(ulong.MaxValue)]
    public void AddResource_OffsetNotInsideBar_ReturnsEinval(ulong offset)
    {
        using var m = new ProviderMachine();

        Assert.Equal(Errno.EINVAL, m.Host.PciP2pdmaAddResource(m.A, 0, 0, offset));

        Assert.Null(m.Host.GetP2pdma(m.A));
    }

    [Theory]
    [InlineData(64UL << 20, 2UL << 20)]
    [InlineData((62UL << 20) + 4096, 2UL << 20)]
    [InlineData(ulong.MaxValue - (1UL << 20), 2UL << 20)] // size + offset wraps in 64 bits
    public void AddResource_RangePastBarEnd_ReturnsEinval(ulong size, ulong offset)
    {
        using var m = new ProviderMachine();

        Assert.Equal(Errno.EINVAL, m.Host.PciP2pdmaAddResource(m.A, 0, size, offset));

        Assert.Null(m.Host.GetP2pdma(m.A));
    }

    [Fact]
    public void AddResource_ExactlyToBarEnd_Succeeds()
    {
        using var m = new ProviderMachine();

        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 2 * MiB, 62 * MiB));

        Assert.Equal(62 * MiB, Assert.Single(m.Host.GetP2pdma(m.A)!.Pagemaps).BarOffset);
    }

    [Fact]
    public void AddResource_SizeZeroWithOffset_TakesTheRestOfTheBar()
    {
        using var m = new ProviderMachine();

        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 0, 16 * MiB));

        Assert.Equal(48 * MiB, m.Host.GetP2pdma(m.A)!.Pool!.SizeBytes);
    }

    [Fact]
    public void AddResource_NonMappableBars_ReturnsEopnotsupp()
    {
        using var m = new ProviderMachine();
        m.Host.SetNonMappableBars(m.A, true);

        Assert.Equal(Errno.EOPNOTSUPP, m.Host.PciP2pdmaAddResource(m.A, 0, 0, 0));

        Assert.Null(m.Host.GetP2pdma(m.A));
    }

    [Fact]
    public void AddResource_OffsetOneMiBInAlignedBar_ReturnsEinvalAndKeepsAnEmptyPool()
    {
        using var m = new ProviderMachine();
        PciBar bar = ProviderMachine.Bar(m.A, 0);
        Assert.Equal(0UL, bar.Address % (2 * MiB));

        Assert.Equal(Errno.EINVAL, m.Host.PciP2pdmaAddResource(m.A, 0, 2 * MiB, 1 * MiB));

        // Like Linux, the pool and the sysfs group set up before the failing step stay.
        PciP2pdma state = m.Host.GetP2pdma(m.A)!;
        Assert.NotNull(state.Pool);
        Assert.Equal(0UL, state.Pool.SizeBytes);
        Assert.Empty(state.Pagemaps);
        ulong pfn = (bar.Address + MiB) >> 12;
        Assert.Equal($"WARNING: Misaligned __add_pages start: 0x{pfn:x} end: 0x{pfn + 511:x}", Assert.Single(m.Host.KernelLog));
    }

    [Theory]
    [InlineData(3UL << 20)]
    [InlineData(4096UL)]
    [InlineData((2UL << 20) + 4096)]
    public void AddResource_SizeNotMultipleOfTwoMiB_ReturnsEinval(ulong size)
    {
        using var m = new ProviderMachine();

        Assert.Equal(Errno.EINVAL, m.Host.PciP2pdmaAddResource(m.A, 0, size, 0));

        Assert.Equal(0UL, m.Host.GetP2pdma(m.A)!.Pool!.SizeBytes);
    }

    [Fact]
    public void AddResource_WholeOneMiBBar_ReturnsEinval()
    {
        using var m = new ProviderMachine();

        Assert.Equal(Errno.EINVAL, m.Host.PciP2pdmaAddResource(m.Small, 0, 0, 0));
    }

    [Fact]
    public void AddResource_SameRangeTwice_ReturnsEnomemAndLeavesTheFirst()
    {
        using var m = new ProviderMachine();
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 4 * MiB, 0));

        Assert.Equal(Errno.ENOMEM, m.Host.PciP2pdmaAddResource(m.A, 0, 4 * MiB, 0));

        PciP2pdma state = m.Host.GetP2pdma(m.A)!;
        Assert.Single(state.Pagemaps);
        Assert.Equal(4 * MiB, state.Pool!.SizeBytes);
        Assert.Equal("WARNING: Conflicting mapping in same section", m.Host.KernelLog[^1]);
    }

    [Theory]
    [InlineData(2UL << 20, 4UL << 20)] // last page inside the existing map
    [InlineData(6UL << 20, 4UL << 20)] // first page inside the existing map
    [InlineData(4UL << 20, 2UL << 20)] // inside it
    public void AddResource_RangeStartingOrEndingInExistingMap_ReturnsEnomem(ulong offset, ulong size)
    {
        using var m = new ProviderMachine();
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 4 * MiB, 4 * MiB));

        Assert.Equal(Errno.ENOMEM, m.Host.PciP2pdmaAddResource(m.A, 0, size, offset));

        Assert.Single(m.Host.GetP2pdma(m.A)!.Pagemaps);
    }

    [Fact]
    public void AddResource_RangeEnclosingExistingMap_ReturnsEexist()
    {
        using var m = new ProviderMachine();
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 2 * MiB, 4 * MiB));

        // Neither end lies in the old map, so memremap_pages gets as far as the subsection map, which is taken.
        Assert.Equal(Errno.EEXIST, m.Host.PciP2pdmaAddResource(m.A, 0, 8 * MiB, 2 * MiB));

        Assert.Equal(2 * MiB, m.Host.GetP2pdma(m.A)!.Pool!.SizeBytes);
    }

    [Fact]
    public void AddResource_AdjacentRanges_BothSucceedAsSeparatePagemaps()
    {
        using var m = new ProviderMachine();
        PciBar bar = ProviderMachine.Bar(m.A, 0);

        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 2 * MiB, 0));
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 2 * MiB, 2 * MiB));

        PciP2pdma state = m.Host.GetP2pdma(m.A)!;
        Assert.Equal(new[] { bar.Address, bar.Address + (2 * MiB) }, state.Pagemaps.Select(p => p.Range.Base));
        Assert.Equal(4 * MiB, state.Pool!.SizeBytes);
        Assert.Equal(2, m.Host.KernelLog.Count);
    }

    [Fact]
    public void AddResource_RangeOverlappingAnotherDevicesPagemap_ReturnsEnomem()
    {
        using var m = new ProviderMachine();
        ulong aAddress = ProviderMachine.Bar(m.A, 0).Address;
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 0, 0));
        ProviderMachine.ProgramBar64(m.B, 0, aAddress);

        Assert.Equal(Errno.ENOMEM, m.Host.PciP2pdmaAddResource(m.B, 0, 2 * MiB, 0));

        Assert.Empty(m.Host.GetP2pdma(m.B)!.Pagemaps);
    }

    [Fact]
    public void AddResource_BarProgrammedOverHostRam_ReturnsEnxio()
    {
        using var m = new ProviderMachine();
        ProviderMachine.ProgramBar32(m.C, 0, 0x0100_0000);
        Assert.Equal(0x0100_0000UL, ProviderMachine.Bar(m.C, 0).Address);

        Assert.Equal(Errno.ENXIO, m.Host.PciP2pdmaAddResource(m.C, 0, 0, 0));

        Assert.Empty(m.Host.GetP2pdma(m.C)!.Pagemaps);
        Assert.Equal("WARNING: attempted on ram region 0x1000000-0x13fffff", m.Host.KernelLog[^1]);
    }

    [Fact]
    public void AddResource_RangeHalfInHostRam_ReturnsEnxioForAMixedRegion()
    {
        using var m = new ProviderMachine(ramBytes: 62 * MiB);
        ProviderMachine.ProgramBar32(m.C, 0, (uint)(60 * MiB));

        Assert.Equal(Errno.ENXIO, m.Host.PciP2pdmaAddResource(m.C, 0, 0, 0));

        Assert.Equal("WARNING: attempted on mixed region 0x3c00000-0x3ffffff", m.Host.KernelLog[^1]);
    }

    [Fact]
    public void AddResource_RangeBeyondMaxPhysicalAddress_ReturnsEinval()
    {
        using var m = new ProviderMachine();
        ProviderMachine.ProgramBar64(m.C, 2, 1UL << P2pDmaHost.MaxPhysMemBits);

        Assert.Equal(Errno.EINVAL, m.Host.PciP2pdmaAddResource(m.C, 2, 0, 0));

        Assert.Empty(m.Host.GetP2pdma(m.C)!.Pagemaps);
        Assert.Equal("Hotplug memory [0x400000000000-0x4000007fffff] exceeds maximum addressable range [0-0x3fffffffffff]", m.Host.KernelLog[^1]);
    }

    [Fact]
    public void AddResource_TwoBarsOfOneDevice_FeedOnePool()
    {
        using var m = new ProviderMachine();
        PciBar bar0 = ProviderMachine.Bar(m.C, 0);
        PciBar bar2 = ProviderMachine.Bar(m.C, 2);

        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.C, 0, 0, 0));
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.C, 2, 4 * MiB, 4 * MiB));

        PciP2pdma state = m.Host.GetP2pdma(m.C)!;
        Assert.Equal(8 * MiB, state.Pool!.SizeBytes);
        Assert.Equal(new[] { 0, 2 }, state.Pagemaps.Select(p => p.Provider.Bar));
        Assert.Equal(
            new[] { ProviderMachine.AddedLine(m.C, bar0.Address, 4 * MiB), ProviderMachine.AddedLine(m.C, bar2.Address + (4 * MiB), 4 * MiB) },
            m.Host.KernelLog);

        // First fit: the first 4 MiB fill BAR0's range, the next allocation comes from BAR2's.
        P2pMemory first = m.Host.PciAllocP2pmem(m.C, 4 * MiB)!;
        P2pMemory second = m.Host.PciAllocP2pmem(m.C, 4096)!;
        Assert.Equal(0, first.Provider.Bar);
        Assert.Equal(bar0.Address, first.BusAddress);
        Assert.Equal(2, second.Provider.Bar);
        Assert.Equal(bar2.Address + (4 * MiB), second.BusAddress);
        Assert.Equal(4 * MiB, second.BarOffset);
        Assert.Same(state.Pagemaps[1], second.Pagemap);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(6)]
    public void AddResource_BarIndexOutsideStandardBars_Throws(int bar)
    {
        using var m = new ProviderMachine();

        Assert.Throws<ArgumentOutOfRangeException>(() => m.Host.PciP2pdmaAddResource(m.A, bar, 0, 0));
    }
}
