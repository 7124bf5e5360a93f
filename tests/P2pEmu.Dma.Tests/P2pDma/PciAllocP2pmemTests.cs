using System;
using System.Collections.Generic;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Dma.Tests.P2pDma;

public sealed class PciAllocP2pmemTests
{
    private const ulong MiB = ProviderMachine.MiB;
    private const ulong Page = P2pMemPool.PageSize;

    private static ProviderMachine WithPool(ulong size = 2 * MiB, ulong offset = 0)
    {
        var m = new ProviderMachine();
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, size, offset));
        return m;
    }

    [Fact]
    public void PciAllocP2pmem_OneByte_TakesOneWholePageAndOneReference()
    {
        using ProviderMachine m = WithPool();
        P2pMemPool pool = m.Host.GetP2pdma(m.A)!.Pool!;
        P2pPagemap pagemap = m.Host.GetP2pdma(m.A)!.Pagemaps[0];

        P2pMemory? memory = m.Host.PciAllocP2pmem(m.A, 1);

        Assert.NotNull(memory);
        Assert.Equal(Page, memory.SizeBytes);
        Assert.Equal(2 * MiB, pool.SizeBytes);
        Assert.Equal((2 * MiB) - Page, pool.AvailableBytes);
        Assert.Equal(1, pool.Allocations);
        Assert.Same(pagemap, memory.Pagemap);
        Assert.Equal(1, pagemap.References);
        Assert.Same(m.Host.PcimP2pdmaProvider(m.A, 0), memory.Provider);
        Assert.False(memory.IsFreed);
    }

    [Theory]
    [InlineData(4096UL, 4096UL)]
    [InlineData(4097UL, 8192UL)]
    [InlineData(12287UL, 12288UL)]
    public void PciAllocP2pmem_Size_RoundsUpToPages(ulong size, ulong expected)
    {
        using ProviderMachine m = WithPool();

        Assert.Equal(expected, m.Host.PciAllocP2pmem(m.A, size)!.SizeBytes);

        Assert.Equal((2 * MiB) - expected, m.Host.GetP2pdma(m.A)!.Pool!.AvailableBytes);
    }

    [Fact]
    public void PciAllocP2pmem_SizeZero_ReturnsNull()
    {
        using ProviderMachine m = WithPool();

        Assert.Null(m.Host.PciAllocP2pmem(m.A, 0));

        Assert.Equal(0, m.Host.GetP2pdma(m.A)!.Pool!.Allocations);
    }

    [Fact]
    public void PciAllocP2pmem_DeviceWithoutP2pdma_ReturnsNull()
    {
        using var m = new ProviderMachine();

        Assert.Null(m.Host.PciAllocP2pmem(m.A, Page));
    }

    [Fact]
    public void PciAllocP2pmem_NakedProviderWithoutPool_ReturnsNull()
    {
        using var m = new ProviderMachine();
        m.Host.PcimP2pdmaInit(m.A);

        Assert.Null(m.Host.PciAllocP2pmem(m.A, Page));
    }

    [Fact]
    public void PciAllocP2pmem_PoolExhausted_ReturnsNull()
    {
        using ProviderMachine m = WithPool();
        P2pMemPool pool = m.Host.GetP2pdma(m.A)!.Pool!;
        Assert.NotNull(m.Host.PciAllocP2pmem(m.A, 2 * MiB));

        Assert.Null(m.Host.PciAllocP2pmem(m.A, 1));

        Assert.Equal(0UL, pool.AvailableBytes);
        Assert.Equal(1, pool.Allocations);
        Assert.Equal(1, m.Host.GetP2pdma(m.A)!.Pagemaps[0].References);
    }

    [Fact]
    public void PciAllocP2pmem_LargerThanPool_ReturnsNull()
    {
        using ProviderMachine m = WithPool();

        Assert.Null(m.Host.PciAllocP2pmem(m.A, (2 * MiB) + 1));

        Assert.Equal(2 * MiB, m.Host.GetP2pdma(m.A)!.Pool!.AvailableBytes);
    }

    [Fact]
    public void PciAllocP2pmem_AfterFrees_ReusesTheFirstHoleThatFits()
    {
        using ProviderMachine m = WithPool();
        P2pMemory a1 = m.Host.PciAllocP2pmem(m.A, Page)!;
        P2pMemory a2 = m.Host.PciAllocP2pmem(m.A, 2 * Page)!;
        P2pMemory a3 = m.Host.PciAllocP2pmem(m.A, Page)!;
        Assert.Equal(new[] { 0UL, Page, 3 * Page }, new[] { a1.BarOffset, a2.BarOffset, a3.BarOffset });
        m.Host.PciFreeP2pmem(m.A, a1);
        m.Host.PciFreeP2pmem(m.A, a2);

        P2pMemory b1 = m.Host.PciAllocP2pmem(m.A, 2 * Page)!;
        P2pMemory b2 = m.Host.PciAllocP2pmem(m.A, 2 * Page)!;
        P2pMemory b3 = m.Host.PciAllocP2pmem(m.A, Page)!;

        Assert.Equal(0UL, b1.BarOffset);      // the freed run [0, 3 pages) starts at 0
        Assert.Equal(4 * Page, b2.BarOffset); // one page left in the hole is too small
        Assert.Equal(2 * Page, b3.BarOffset); // but fits the next single page
        Assert.Equal(4, m.Host.GetP2pdma(m.A)!.Pool!.Allocations);
    }

    [Fact]
    public void PciAllocP2pmem_FragmentedPool_ReturnsNullDespiteEnoughFreeBytes()
    {
        using ProviderMachine m = WithPool();
        var pages = new List<P2pMemory>();
        for (int i = 0; i < 512; i++)
        {
            pages.Add(m.Host.PciAllocP2pmem(m.A, Page)!);
        }

        for (int i = 0; i < 512; i += 2)
        {
            m.Host.PciFreeP2pmem(m.A, pages[i]);
        }

        Assert.Equal(MiB, m.Host.GetP2pdma(m.A)!.Pool!.AvailableBytes);
        Assert.Null(m.Host.PciAllocP2pmem(m.A, 2 * Page));
        Assert.NotNull(m.Host.PciAllocP2pmem(m.A, Page));
    }

    [Fact]
    public void PciFreeP2pmem_Allocation_ReturnsBytesAndDropsTheReference()
    {
        using ProviderMachine m = WithPool();
        P2pMemPool pool = m.Host.GetP2pdma(m.A)!.Pool!;
        P2pMemory memory = m.Host.PciAllocP2pmem(m.A, 3 * Page)!;

        m.Host.PciFreeP2pmem(m.A, memory);

        Assert.True(memory.IsFreed);
        Assert.Equal(2 * MiB, pool.AvailableBytes);
        Assert.Equal(0, pool.Allocations);
        Assert.Equal(0, memory.Pagemap!.References);
    }

    [Fact]
    public void PciFreeP2pmem_Twice_ThrowsAndKeepsAccounting()
    {
        using ProviderMachine m = WithPool();
        P2pMemory memory = m.Host.PciAllocP2pmem(m.A, Page)!;
        P2pMemory other = m.Host.PciAllocP2pmem(m.A, Page)!;
        m.Host.PciFreeP2pmem(m.A, memory);

        Assert.Throws<ArgumentException>(() => m.Host.PciFreeP2pmem(m.A, memory));

        Assert.Equal((2 * MiB) - Page, m.Host.GetP2pdma(m.A)!.Pool!.AvailableBytes);
        Assert.Equal(1, other.Pagemap!.References);
    }

    [Fact]
    public void PciFreeP2pmem_OtherDevicesAllocation_Throws()
    {
        using ProviderMachine m = WithPool();
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.B, 0, 2 * MiB, 0));
        P2pMemory memory = m.Host.PciAllocP2pmem(m.A, Page)!;

        Assert.Throws<ArgumentException>(() => m.Host.PciFreeP2pmem(m.B, memory));
        Assert.Throws<ArgumentException>(() => m.Host.PciFreeP2pmem(m.C, memory));

        Assert.False(memory.IsFreed);
        Assert.Equal(1, memory.Pagemap!.References);
    }

    [Fact]
    public void PciFreeP2pmem_NullArguments_Throw()
    {
        using ProviderMachine m = WithPool();
        P2pMemory memory = m.Host.PciAllocP2pmem(m.A, Page)!;

        Assert.Throws<ArgumentNullException>(() => m.Host.PciFreeP2pmem(m.A, null!));
        Assert.Throws<ArgumentNullException>(() => m.Host.PciFreeP2pmem(null!, memory));
    }

    [Fact]
    public void PciAllocP2pmem_PagemapDying_ReturnsNullAndGivesThePagesBack()
    {
        using ProviderMachine m = WithPool();
        P2pMemPool pool = m.Host.GetP2pdma(m.A)!.Pool!;
        P2pPagemap pagemap = m.Host.GetP2pdma(m.A)!.Pagemaps[0];
        P2pMemory held = m.Host.PciAllocP2pmem(m.A, Page)!;

        pagemap.Kill();

        Assert.True(pagemap.IsDying);
        Assert.Null(m.Host.PciAllocP2pmem(m.A, Page));
        Assert.Equal((2 * MiB) - Page, pool.AvailableBytes);
        Assert.Equal(1, pool.Allocations);
        Assert.Equal(1, pagemap.References);

        // Existing references still drain normally.
        m.Host.PciFreeP2pmem(m.A, held);
        Assert.Equal(0, pagemap.References);
        Assert.Equal(2 * MiB, pool.AvailableBytes);
    }

    [Fact]
    public void PciP2pmemVirtToBus_Allocation_IsBarBusAddressPlusOffset()
    {
        using ProviderMachine m = WithPool(size: 4 * MiB, offset: 8 * MiB);
        PciBar bar = ProviderMachine.Bar(m.A, 0);
        P2pMemory first = m.Host.PciAllocP2pmem(m.A, Page)!;
        P2pMemory second = m.Host.PciAllocP2pmem(m.A, Page)!;

        Assert.Equal(bar.Address + (8 * MiB), m.Host.PciP2pmemVirtToBus(m.A, first));
        Assert.Equal(bar.Address + (8 * MiB) + Page, m.Host.PciP2pmemVirtToBus(m.A, second));
        Assert.Equal((8 * MiB) + Page, second.BarOffset);
    }

    [Fact]
    public void PciP2pmemVirtToBus_NullMemory_ReturnsZero()
    {
        using ProviderMachine m = WithPool();

        Assert.Equal(0UL, m.Host.PciP2pmemVirtToBus(m.A, null));
    }

    [Fact]
    public void PciP2pmemVirtToBus_DeviceWithoutP2pdma_ReturnsZero()
    {
        using ProviderMachine m = WithPool();
        P2pMemory memory = m.Host.PciAllocP2pmem(m.A, Page)!;

        Assert.Equal(0UL, m.Host.PciP2pmemVirtToBus(m.B, memory));
    }

    [Fact]
    public void PciP2pmemVirtToBus_OtherDevicesAllocation_Throws()
    {
        using ProviderMachine m = WithPool();
        m.Host.PcimP2pdmaInit(m.B);
        P2pMemory memory = m.Host.PciAllocP2pmem(m.A, Page)!;

        Assert.Throws<ArgumentException>(() => m.Host.PciP2pmemVirtToBus(m.B, memory));
    }

    [Fact]
    public void PeerDma_ToAllocationBusAddress_LandsInExactlyThoseBarBytes()
    {
        using ProviderMachine m = WithPool(size: 2 * MiB, offset: 2 * MiB);
        PciBar bar = ProviderMachine.Bar(m.A, 0);
        m.Host.PciAllocP2pmem(m.A, Page);
        P2pMemory memory = m.Host.PciAllocP2pmem(m.A, 2 * Page)!;
        FabricSnapshot before = FabricSnapshot.FillAndCapture(m.Fabric, 4 * (int)MiB, seed: 7);
        byte[] data = new byte[2 * Page];
        new Random(8).NextBytes(data);

        ulong bus = m.Host.PciP2pmemVirtToBus(m.A, memory);
        DmaResult result = new DmaPort(m.Fabric, m.Fabric["b"]).Write(new DmaAddress(bus), data);

        Assert.True(result.IsSuccess, result.ToString());
        Assert.Equal((ulong)data.Length, result.BytesTransferred);
        Assert.Equal((2 * MiB) + Page, memory.BarOffset);
        Assert.True(bar.Memory!.GetSpan(memory.BarOffset, data.Length).SequenceEqual(data));
        Assert.Empty(before.ChangedOutside(bar.Memory, memory.BarOffset, (ulong)data.Length));
    }
}
