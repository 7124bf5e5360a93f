using System;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Host;
using Xunit;

namespace P2pEmu.Dma.Tests.P2pDma;

public sealed class PciP2pmemPublishTests
{
    private const ulong MiB = ProviderMachine.MiB;

    [Fact]
    public void PciP2pmemPublish_DeviceWithoutP2pdma_ReturnsEnodev()
    {
        using var m = new ProviderMachine();

        Assert.Equal(Errno.ENODEV, m.Host.PciP2pmemPublish(m.A, true));

        Assert.Null(m.Host.GetP2pdma(m.A));
    }

    [Fact]
    public void PciP2pmemPublish_WithPool_MakesTheProviderFindable()
    {
        using var m = new ProviderMachine();
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 0, 0));
        Assert.False(m.Host.PciHasP2pmem(m.A));

        Assert.Equal(Errno.None, m.Host.PciP2pmemPublish(m.A, true));

        Assert.True(m.Host.GetP2pdma(m.A)!.P2pmemPublished);
        Assert.True(m.Host.PciHasP2pmem(m.A));
        Assert.Same(m.A, m.Host.PciP2pmemFindMany(new[] { Device.ForPci(m.B) }));
        Assert.Same(m.A, m.Host.PciP2pmemFind(Device.ForPci(m.C)));
    }

    [Fact]
    public void PciP2pmemFindMany_PoolNotPublished_FindsNothing()
    {
        using var m = new ProviderMachine();
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 0, 0));

        Assert.Null(m.Host.PciP2pmemFindMany(new[] { Device.ForPci(m.B) }));

        Assert.False(m.Host.PciHasP2pmem(m.A));
    }

    [Fact]
    public void PciP2pmemFindMany_PublishedWithoutPool_FindsNothing()
    {
        using var m = new ProviderMachine();
        Assert.Equal(Errno.None, m.Host.PcimP2pdmaInit(m.A));

        Assert.Equal(Errno.None, m.Host.PciP2pmemPublish(m.A, true));

        Assert.True(m.Host.GetP2pdma(m.A)!.P2pmemPublished);
        Assert.False(m.Host.PciHasP2pmem(m.A));
        Assert.Null(m.Host.PciP2pmemFindMany(new[] { Device.ForPci(m.B) }));
    }

    [Fact]
    public void PciP2pmemPublish_False_HidesThePoolAgain()
    {
        using var m = new ProviderMachine();
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 0, 0));
        m.Host.PciP2pmemPublish(m.A, true);

        Assert.Equal(Errno.None, m.Host.PciP2pmemPublish(m.A, false));

        Assert.False(m.Host.PciHasP2pmem(m.A));
        Assert.Null(m.Host.PciP2pmemFindMany(new[] { Device.ForPci(m.B) }));
    }

    [Fact]
    public void PciP2pmemFindMany_OnlyOnePublished_FindsThatOneOnly()
    {
        using var m = new ProviderMachine();
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 0, 0));
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.C, 0, 0, 0));
        m.Host.PciP2pmemPublish(m.C, true);

        for (int i = 0; i < 8; i++)
        {
            Assert.Same(m.C, m.Host.PciP2pmemFindMany(new[] { Device.ForPci(m.B) }));
        }
    }

    [Fact]
    public void PciP2pmemPublish_Null_Throws()
    {
        using var m = new ProviderMachine();

        Assert.Throws<ArgumentNullException>(() => m.Host.PciP2pmemPublish(null!, true));
    }
}
