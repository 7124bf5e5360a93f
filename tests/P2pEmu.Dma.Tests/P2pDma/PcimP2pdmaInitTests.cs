using System;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using Xunit;

namespace P2pEmu.Dma.Tests.P2pDma;

public sealed class PcimP2pdmaInitTests
{
    [Fact]
    public void PcimP2pdmaInit_FirstCall_PublishesStateWithOneProviderPerBar()
    {
        using var m = new ProviderMachine();
        Assert.Null(m.Host.GetP2pdma(m.C));

        Assert.Equal(Errno.None, m.Host.PcimP2pdmaInit(m.C));

        PciP2pdma state = Assert.IsType<PciP2pdma>(m.Host.GetP2pdma(m.C));
        Assert.Same(m.C, state.Device);
        Assert.Null(state.Pool);
        Assert.False(state.P2pmemPublished);
        Assert.Empty(state.Pagemaps);
        for (int bar = 0; bar < P2pDmaHost.StdNumBars; bar++)
        {
            P2pProvider? provider = state.Mem[bar];
            if (bar is 0 or 2)
            {
                Assert.NotNull(provider);
                Assert.Same(m.C, provider.Owner);
                Assert.Equal(bar, provider.Bar);
                Assert.Equal(0UL, provider.BusOffset);
            }
            else
            {
                Assert.Null(provider); // BAR1 does not exist, BAR3 is BAR2's upper half, BAR4/5 do not exist
            }
        }
    }

    [Fact]
    public void PcimP2pdmaInit_SecondCall_ReturnsNoneAndKeepsTheSameState()
    {
        using var m = new ProviderMachine();
        Assert.Equal(Errno.None, m.Host.PcimP2pdmaInit(m.A));
        PciP2pdma? first = m.Host.GetP2pdma(m.A);
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 2 * ProviderMachine.MiB, 0));

        Assert.Equal(Errno.None, m.Host.PcimP2pdmaInit(m.A));

        Assert.Same(first, m.Host.GetP2pdma(m.A));
        Assert.NotNull(first!.Pool);
        Assert.Equal(2 * ProviderMachine.MiB, first.Pool.SizeBytes);
    }

    [Fact]
    public void PcimP2pdmaInit_NonMappableBars_ReturnsEopnotsuppAndCreatesNoState()
    {
        using var m = new ProviderMachine();
        m.Host.SetNonMappableBars(m.A, true);

        Assert.Equal(Errno.EOPNOTSUPP, m.Host.PcimP2pdmaInit(m.A));

        Assert.Null(m.Host.GetP2pdma(m.A));
    }

    [Fact]
    public void PcimP2pdmaInit_NonMappableBarsCleared_Succeeds()
    {
        using var m = new ProviderMachine();
        m.Host.SetNonMappableBars(m.A, true);
        m.Host.SetNonMappableBars(m.A, false);

        Assert.Equal(Errno.None, m.Host.PcimP2pdmaInit(m.A));

        Assert.NotNull(m.Host.GetP2pdma(m.A));
    }

    [Fact]
    public void PcimP2pdmaInit_BridgeWithoutBars_CreatesStateWithoutProviders()
    {
        using var m = new ProviderMachine();
        PciFunction port = m.Fabric["dp0"];

        Assert.Equal(Errno.None, m.Host.PcimP2pdmaInit(port));

        PciP2pdma state = m.Host.GetP2pdma(port)!;
        Assert.All(state.Mem, Assert.Null);
    }

    [Fact]
    public void PcimP2pdmaInit_Null_Throws()
    {
        using var m = new ProviderMachine();
        Assert.Throws<ArgumentNullException>(() => m.Host.PcimP2pdmaInit(null!));
    }

    [Fact]
    public void PcimP2pdmaProvider_AfterInit_ReturnsTheBarsProvider()
    {
        using var m = new ProviderMachine();
        m.Host.PcimP2pdmaInit(m.C);

        P2pProvider? bar2 = m.Host.PcimP2pdmaProvider(m.C, 2);

        Assert.NotNull(bar2);
        Assert.Same(m.Host.GetP2pdma(m.C)!.Mem[2], bar2);
        Assert.Equal(2, bar2.Bar);
        Assert.Same(m.C, bar2.Owner);
        Assert.Equal(0UL, bar2.BusOffset);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    public void PcimP2pdmaProvider_BarThatDoesNotExist_ReturnsNullWithoutWarning(int bar)
    {
        using var m = new ProviderMachine();
        m.Host.PcimP2pdmaInit(m.C);

        Assert.Null(m.Host.PcimP2pdmaProvider(m.C, bar));

        Assert.Empty(m.Host.KernelLog);
    }

    [Fact]
    public void PcimP2pdmaProvider_NonMappableBars_ReturnsNull()
    {
        using var m = new ProviderMachine();
        m.Host.PcimP2pdmaInit(m.A);
        m.Host.SetNonMappableBars(m.A, true);

        Assert.Null(m.Host.PcimP2pdmaProvider(m.A, 0));

        Assert.Empty(m.Host.KernelLog);
    }

    [Fact]
    public void PcimP2pdmaProvider_BeforeInit_ReturnsNullAndWarns()
    {
        using var m = new ProviderMachine();

        Assert.Null(m.Host.PcimP2pdmaProvider(m.A, 0));

        string line = Assert.Single(m.Host.KernelLog);
        Assert.Equal($"pci {m.A.Address}: WARNING: pcim_p2pdma_provider() called before pcim_p2pdma_init()", line);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(6)]
    public void PcimP2pdmaProvider_BarIndexOutsideStandardBars_Throws(int bar)
    {
        using var m = new ProviderMachine();
        m.Host.PcimP2pdmaInit(m.A);

        Assert.Throws<ArgumentOutOfRangeException>(() => m.Host.PcimP2pdmaProvider(m.A, bar));
    }
}
