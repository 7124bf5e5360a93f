using System;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Host;
using Xunit;

namespace P2pEmu.Dma.Tests.P2pDma;

public sealed class PciP2pmemAllocSglTests
{
    private const ulong MiB = ProviderMachine.MiB;

    private static ProviderMachine WithPool()
    {
        var m = new ProviderMachine();
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 2 * MiB, 0));
        return m;
    }

    [Fact]
    public void PciP2pmemAllocSgl_Success_ReturnsOneEntryOfTheRequestedLength()
    {
        using ProviderMachine m = WithPool();

        P2pScatterlist? sgl = m.Host.PciP2pmemAllocSgl(m.A, out int nents, 5000);

        Assert.NotNull(sgl);
        Assert.Equal(1, nents);
        P2pScatterlistEntry entry = Assert.Single(sgl.Entries);
        Assert.Equal(5000u, entry.Length);
        Assert.Equal(8192UL, entry.Memory.SizeBytes);
        Assert.Equal(ProviderMachine.Bar(m.A, 0).Address, entry.BusAddress);
        Assert.Equal(m.Host.PciP2pmemVirtToBus(m.A, entry.Memory), entry.BusAddress);
        Assert.Equal((2 * MiB) - 8192, m.Host.GetP2pdma(m.A)!.Pool!.AvailableBytes);
        Assert.False(sgl.IsFreed);
    }

    [Fact]
    public void PciP2pmemAllocSgl_PoolExhausted_ReturnsNullAndNoEntries()
    {
        using ProviderMachine m = WithPool();

        P2pScatterlist? sgl = m.Host.PciP2pmemAllocSgl(m.A, out int nents, (uint)(2 * MiB) + 1);

        Assert.Null(sgl);
        Assert.Equal(0, nents);
        Assert.Equal(0, m.Host.GetP2pdma(m.A)!.Pool!.Allocations);
    }

    [Fact]
    public void PciP2pmemAllocSgl_LengthZero_ReturnsNull()
    {
        using ProviderMachine m = WithPool();

        Assert.Null(m.Host.PciP2pmemAllocSgl(m.A, out int nents, 0));

        Assert.Equal(0, nents);
    }

    [Fact]
    public void PciP2pmemAllocSgl_DeviceWithoutP2pdma_ReturnsNull()
    {
        using ProviderMachine m = WithPool();

        Assert.Null(m.Host.PciP2pmemAllocSgl(m.B, out int nents, 4096));

        Assert.Equal(0, nents);
    }

    [Fact]
    public void PciP2pmemFreeSgl_List_FreesEveryEntryAndTheReferences()
    {
        using ProviderMachine m = WithPool();
        P2pScatterlist sgl = m.Host.PciP2pmemAllocSgl(m.A, out _, 3 * 4096)!;
        P2pPagemap pagemap = m.Host.GetP2pdma(m.A)!.Pagemaps[0];
        Assert.Equal(1, pagemap.References);

        m.Host.PciP2pmemFreeSgl(m.A, sgl);

        Assert.True(sgl.IsFreed);
        Assert.True(sgl.Entries[0].Memory.IsFreed);
        Assert.Equal(2 * MiB, m.Host.GetP2pdma(m.A)!.Pool!.AvailableBytes);
        Assert.Equal(0, pagemap.References);
    }

    [Fact]
    public void PciP2pmemFreeSgl_Twice_Throws()
    {
        using ProviderMachine m = WithPool();
        P2pScatterlist sgl = m.Host.PciP2pmemAllocSgl(m.A, out _, 4096)!;
        m.Host.PciP2pmemFreeSgl(m.A, sgl);

        Assert.Throws<ArgumentException>(() => m.Host.PciP2pmemFreeSgl(m.A, sgl));

        Assert.Equal(2 * MiB, m.Host.GetP2pdma(m.A)!.Pool!.AvailableBytes);
    }

    [Fact]
    public void PciP2pmemFreeSgl_OtherDevice_ThrowsAndFreesNothing()
    {
        using ProviderMachine m = WithPool();
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.B, 0, 2 * MiB, 0));
        P2pScatterlist sgl = m.Host.PciP2pmemAllocSgl(m.A, out _, 4096)!;

        Assert.Throws<ArgumentException>(() => m.Host.PciP2pmemFreeSgl(m.B, sgl));

        Assert.False(sgl.IsFreed);
        Assert.False(sgl.Entries[0].Memory.IsFreed);
        m.Host.PciP2pmemFreeSgl(m.A, sgl);
        Assert.True(sgl.IsFreed);
    }
}
