using System;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Host;
using Xunit;

namespace P2pEmu.Dma.Tests.P2pDma;

public sealed class P2pmemSysfsTests
{
    private const ulong MiB = ProviderMachine.MiB;

    [Fact]
    public void GetP2pmemSysfs_NoP2pdma_ReturnsNull()
    {
        using var m = new ProviderMachine();

        Assert.Null(m.Host.GetP2pmemSysfs(m.A));
    }

    [Fact]
    public void GetP2pmemSysfs_NakedProviderWithoutPool_ReturnsNull()
    {
        using var m = new ProviderMachine();
        m.Host.PcimP2pdmaInit(m.A);
        m.Host.PciP2pmemPublish(m.A, true);

        Assert.Null(m.Host.GetP2pmemSysfs(m.A));
    }

    [Fact]
    public void GetP2pmemSysfs_AfterAddResource_ReturnsTheDevicesGroup()
    {
        using var m = new ProviderMachine();
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 8 * MiB, 0));

        P2pmemSysfs? sysfs = m.Host.GetP2pmemSysfs(m.A);

        Assert.NotNull(sysfs);
        Assert.Same(m.A, sysfs.Device);
        Assert.Same(sysfs, m.Host.GetP2pmemSysfs(m.A));
        Assert.Equal($"{m.A.Address}/p2pmem", sysfs.ToString());
        Assert.Null(m.Host.GetP2pmemSysfs(m.B));
    }

    [Fact]
    public void GetP2pmemSysfs_AfterFailedFirstAddResource_GroupExistsWithSizeZero()
    {
        using var m = new ProviderMachine();
        Assert.Equal(Errno.EINVAL, m.Host.PciP2pdmaAddResource(m.A, 0, 3 * MiB, 0));

        P2pmemSysfs? sysfs = m.Host.GetP2pmemSysfs(m.A);

        Assert.NotNull(sysfs);
        Assert.Equal("0\n", sysfs.ReadAttribute("size").Value);
    }

    [Fact]
    public void P2pmemSysfs_Values_FollowThePoolAndPublishLive()
    {
        using var m = new ProviderMachine();
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 8 * MiB, 0));
        P2pmemSysfs sysfs = m.Host.GetP2pmemSysfs(m.A)!;
        Assert.Equal(8 * MiB, sysfs.Size);
        Assert.Equal(8 * MiB, sysfs.Available);
        Assert.False(sysfs.Published);

        P2pMemory memory = m.Host.PciAllocP2pmem(m.A, 5000)!;
        m.Host.PciP2pmemPublish(m.A, true);
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 2 * MiB, 16 * MiB));

        Assert.Equal(10 * MiB, sysfs.Size);
        Assert.Equal((10 * MiB) - 8192, sysfs.Available);
        Assert.True(sysfs.Published);

        m.Host.PciFreeP2pmem(m.A, memory);
        m.Host.PciP2pmemPublish(m.A, false);
        Assert.Equal(10 * MiB, sysfs.Available);
        Assert.False(sysfs.Published);
    }

    [Fact]
    public void ReadAttribute_Files_PrintWhatTheKernelPrints()
    {
        using var m = new ProviderMachine();
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 8 * MiB, 0));
        P2pmemSysfs sysfs = m.Host.GetP2pmemSysfs(m.A)!;
        m.Host.PciAllocP2pmem(m.A, 4096);

        Assert.Equal("8388608\n", sysfs.ReadAttribute("size").Value);
        Assert.Equal("8384512\n", sysfs.ReadAttribute("available").Value);
        Assert.Equal("0\n", sysfs.ReadAttribute("published").Value);
        m.Host.PciP2pmemPublish(m.A, true);
        Assert.Equal("1\n", sysfs.ReadAttribute("published").Value);
    }

    [Fact]
    public void ReadAttribute_Allocate_FailsWithEioBecauseItIsMmapOnly()
    {
        using var m = new ProviderMachine();
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 2 * MiB, 0));

        Result<string> result = m.Host.GetP2pmemSysfs(m.A)!.ReadAttribute("allocate");

        Assert.Equal(Errno.EIO, result.Error);
    }

    [Theory]
    [InlineData("Size")]
    [InlineData("size\n")]
    [InlineData("")]
    [InlineData("p2pmem")]
    public void ReadAttribute_UnknownName_FailsWithEnoent(string name)
    {
        using var m = new ProviderMachine();
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 2 * MiB, 0));

        Assert.Equal(Errno.ENOENT, m.Host.GetP2pmemSysfs(m.A)!.ReadAttribute(name).Error);
    }

    [Fact]
    public void ReadAttribute_Null_Throws()
    {
        using var m = new ProviderMachine();
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 2 * MiB, 0));

        Assert.Throws<ArgumentNullException>(() => m.Host.GetP2pmemSysfs(m.A)!.ReadAttribute(null!));
    }

    [Fact]
    public void AttributeNames_AreTheKernelsGroupInOrder()
    {
        Assert.Equal(new[] { "size", "available", "published", "allocate" }, P2pmemSysfs.AttributeNames);
        Assert.Equal("p2pmem", P2pmemSysfs.GroupName);
    }
}
