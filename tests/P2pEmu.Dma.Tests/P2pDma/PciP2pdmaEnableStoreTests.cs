using System;
using System.Linq;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using Xunit;

namespace P2pEmu.Dma.Tests.P2pDma;

public sealed class PciP2pdmaEnableStoreTests
{
    private static ProviderMachine WithPublishedA()
    {
        var m = new ProviderMachine();
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 0, 0));
        Assert.Equal(Errno.None, m.Host.PciP2pmemPublish(m.A, true));
        return m;
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n")]
    public void EnableStore_AddressOfDeviceWithPublishedMemory_SelectsIt(string suffix)
    {
        using ProviderMachine m = WithPublishedA();

        Errno error = m.Host.PciP2pdmaEnableStore(m.A.Address + suffix, out PciFunction? p2pDev, out bool useP2pdma);

        Assert.Equal(Errno.None, error);
        Assert.Same(m.A, p2pDev);
        Assert.True(useP2pdma);
        Assert.Empty(m.Host.KernelLog.Skip(1)); // only the add_resource line
    }

    [Fact]
    public void EnableStore_ExistingDeviceWithoutPublishedMemory_ReturnsEnodevAndLogsPciErr()
    {
        using ProviderMachine m = WithPublishedA();
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.B, 0, 0, 0)); // a pool, but unpublished

        Errno error = m.Host.PciP2pdmaEnableStore(m.B.Address + "\n", out PciFunction? p2pDev, out bool useP2pdma);

        Assert.Equal(Errno.ENODEV, error);
        Assert.Null(p2pDev);
        Assert.False(useP2pdma);
        Assert.Equal($"pci {m.B.Address}: PCI device has no peer-to-peer memory: {m.B.Address}", m.Host.KernelLog[^1]);
    }

    [Fact]
    public void EnableStore_ExistingBridge_ReturnsEnodevAsADevice()
    {
        using ProviderMachine m = WithPublishedA();
        PciFunction hostDevice = m.Fabric["hostdev"];
        Assert.Equal("0000:00:00.0", hostDevice.Address);

        Assert.Equal(Errno.ENODEV, m.Host.PciP2pdmaEnableStore("0000:00:00.0", out _, out _));

        Assert.StartsWith("pci 0000:00:00.0: PCI device has no peer-to-peer memory", m.Host.KernelLog[^1], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0000:01:00.1")]
    [InlineData("0000:01:00.1\n")]
    [InlineData("1000:00:00.0")]
    [InlineData("10")]
    [InlineData("01\n")]
    [InlineData("1 ")]
    [InlineData("0x1")]
    public void EnableStore_UnknownAddressStartingWithZeroOrOne_ReturnsEnodev(string page)
    {
        using ProviderMachine m = WithPublishedA();
        Assert.DoesNotContain(m.Fabric.Functions, f => f.Address == page.TrimEnd('\n'));

        Errno error = m.Host.PciP2pdmaEnableStore(page, out PciFunction? p2pDev, out bool useP2pdma);

        Assert.Equal(Errno.ENODEV, error);
        Assert.Null(p2pDev);
        Assert.False(useP2pdma);
        Assert.Equal($"pci-p2pdma: No such PCI device: {page.TrimEnd('\n')}", m.Host.KernelLog[^1]);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("1\n", true)]
    [InlineData("0", false)]
    [InlineData("0\n", false)]
    [InlineData("y", true)]
    [InlineData("Y\n", true)]
    [InlineData("yes", true)]
    [InlineData("n", false)]
    [InlineData("N", false)]
    [InlineData("no\n", false)]
    [InlineData("on", true)]
    [InlineData("ON\n", true)]
    [InlineData("oN", true)]
    [InlineData("off", false)]
    [InlineData("Off\n", false)]
    [InlineData("of", false)]
    [InlineData("true", true)]
    [InlineData("F", false)]
    [InlineData("enabled", true)]
    [InlineData("disabled\n", false)]
    [InlineData("1\0garbage", true)] // the kernel sees a C string
    public void EnableStore_Boolean_SetsUseP2pdmaWithoutDevice(string page, bool expected)
    {
        using ProviderMachine m = WithPublishedA();
        int logLines = m.Host.KernelLog.Count;

        Errno error = m.Host.PciP2pdmaEnableStore(page, out PciFunction? p2pDev, out bool useP2pdma);

        Assert.Equal(Errno.None, error);
        Assert.Null(p2pDev);
        Assert.Equal(expected, useP2pdma);
        Assert.Equal(logLines, m.Host.KernelLog.Count);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("")]
    [InlineData("\n")]
    [InlineData("o")]
    [InlineData("ox")]
    [InlineData("2")]
    [InlineData(" 1")]
    [InlineData("\0")]
    public void EnableStore_Garbage_ReturnsEnodev(string page)
    {
        using ProviderMachine m = WithPublishedA();

        Errno error = m.Host.PciP2pdmaEnableStore(page, out PciFunction? p2pDev, out bool useP2pdma);

        Assert.Equal(Errno.ENODEV, error);
        Assert.Null(p2pDev);
        Assert.False(useP2pdma);
        Assert.StartsWith("pci-p2pdma: No such PCI device: ", m.Host.KernelLog[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void EnableStore_GarbageWithNewline_LogsUpToTheNewline()
    {
        using ProviderMachine m = WithPublishedA();

        m.Host.PciP2pdmaEnableStore("bogus\nmore", out _, out _);

        Assert.Equal("pci-p2pdma: No such PCI device: bogus", m.Host.KernelLog[^1]);
    }

    [Theory]
    [InlineData("\n\n")]
    [InlineData(" ")]
    [InlineData("x")]
    public void EnableStore_AddressWithExtraCharacters_IsNotTheDevice(string suffix)
    {
        using ProviderMachine m = WithPublishedA();

        Assert.Equal(Errno.ENODEV, m.Host.PciP2pdmaEnableStore(m.A.Address + suffix, out PciFunction? p2pDev, out _));

        Assert.Null(p2pDev);
    }

    [Fact]
    public void EnableStore_Null_Throws()
    {
        using var m = new ProviderMachine();

        Assert.Throws<ArgumentNullException>(() => m.Host.PciP2pdmaEnableStore(null!, out _, out _));
    }

    [Fact]
    public void EnableShow_Disabled_PrintsZero()
    {
        using var m = new ProviderMachine();

        Assert.Equal("0\n", P2pDmaHost.PciP2pdmaEnableShow(null, false));
        Assert.Equal("0\n", P2pDmaHost.PciP2pdmaEnableShow(m.A, false));
    }

    [Fact]
    public void EnableShow_EnabledWithoutDevice_PrintsOne()
    {
        Assert.Equal("1\n", P2pDmaHost.PciP2pdmaEnableShow(null, true));
    }

    [Fact]
    public void EnableShow_AfterStoringAnAddress_PrintsTheAddressBack()
    {
        using ProviderMachine m = WithPublishedA();
        m.Host.PciP2pdmaEnableStore(m.A.Address + "\n", out PciFunction? p2pDev, out bool useP2pdma);

        string shown = P2pDmaHost.PciP2pdmaEnableShow(p2pDev, useP2pdma);

        Assert.Equal(m.A.Address + "\n", shown);
        Assert.Matches("^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]\n$", shown);
    }
}
