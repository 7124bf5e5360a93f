using System;
using System.Runtime.InteropServices;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Dma.Userspace;
using P2pEmu.Drivers.Vfio;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Topology;
using Xunit;
using DmaBuffer = P2pEmu.Dma.DmaBuf.DmaBuf;

namespace P2pEmu.Integration.Tests.DmaBuf;

/// <summary><c>VFIO_DEVICE_FEATURE_DMA_BUF</c>: what it exports, and every check of spec §1.6 in order.</summary>
public sealed class VfioFeatureDmaBufTests
{
    private const ulong Page = VfioMachine.Page;
    private const uint Get = VfioMachine.DmaBufGet;

    [Fact]
    public void UapiStructs_HaveTheKernelSizes()
    {
        Assert.Equal(8, Marshal.SizeOf<VfioDeviceFeature>());
        Assert.Equal(16, Marshal.SizeOf<VfioDeviceFeatureDmaBuf>());
        Assert.Equal(16, Marshal.SizeOf<VfioRegionDmaRange>());
    }

    [Theory]
    [InlineData(KernelProfile.Linux619)]
    [InlineData(KernelProfile.Revoke2026)]
    public void DmaBuf_ExportsTheRangesAsOneBuffer_WithADescriptorInTheProcess(KernelProfile kernel)
    {
        using var m = new VfioMachine(kernel);
        int registrations = m.Vdev.RegistrationCount;

        Result<int> fd = m.Export((0, 0x10000), (0x100000, 0x2000));

        Assert.True(fd.IsSuccess, fd.ToString());
        DmaBuffer dmabuf = m.Get(fd.Value);
        var priv = Assert.IsType<VfioPciDmaBuf>(dmabuf.Priv);
        Assert.Equal(0x12000UL, dmabuf.Size);
        Assert.Equal(new[] { new PhysVec(m.Bar2.Address, 0x10000), new PhysVec(m.Bar2.Address + 0x100000, 0x2000) }, priv.PhysVec);
        Assert.Same(m.Machine.P2pDma.PcimP2pdmaProvider(m.Exp, 2), priv.Provider);
        Assert.False(priv.Revoked);
        Assert.Same(m.Vdev, priv.Vdev);
        Assert.Equal(new[] { priv }, m.Vdev.DmaBufList);
        Assert.Equal(registrations + 1, m.Vdev.RegistrationCount);
        Assert.True(m.User.IsCloseOnExec(fd.Value));
        Assert.Equal(1, dmabuf.File.Count);
        Assert.Equal(kernel == KernelProfile.Linux619, dmabuf.IsDynamic);
    }

    [Fact]
    public void DmaBuf_Probe_ReturnsZeroAndExportsNothing()
    {
        using var m = new VfioMachine();

        Result<int> probe = m.Vdev.IoctlDeviceFeature(m.User, m.DeviceFd, VfioMachine.FeatureArg(2, new[] { (0UL, Page) }, flags: Get | VfioUapi.DeviceFeatureProbe));

        Assert.Equal(0, probe.Value);
        Assert.Empty(m.Vdev.DmaBufList);
        Assert.Equal(0, m.Host.LiveBuffers);
    }

    public static TheoryData<string, byte[], Errno> Refused => new()
    {
        { "header cut short", VfioMachine.FeatureArg(2, new[] { (0UL, Page) }, bytes: 7), Errno.EFAULT },
        { "argsz below the header", VfioMachine.FeatureArg(2, new[] { (0UL, Page) }, argsz: 7), Errno.EINVAL },
        { "unknown flag", VfioMachine.FeatureArg(2, new[] { (0UL, Page) }, flags: Get | (1u << 19)), Errno.EINVAL },
        { "GET and SET", VfioMachine.FeatureArg(2, new[] { (0UL, Page) }, flags: Get | VfioUapi.DeviceFeatureSet), Errno.EINVAL },
        { "another feature", VfioMachine.FeatureArg(2, new[] { (0UL, Page) }, flags: VfioUapi.DeviceFeatureGet | 12), Errno.ENOTTY },
        { "SET", VfioMachine.FeatureArg(2, new[] { (0UL, Page) }, flags: VfioUapi.DeviceFeatureSet | VfioUapi.DeviceFeatureDmaBuf), Errno.EINVAL },
        { "neither GET nor SET", VfioMachine.FeatureArg(2, new[] { (0UL, Page) }, flags: VfioUapi.DeviceFeatureDmaBuf), Errno.EINVAL },
        { "argsz below the request", VfioMachine.FeatureArg(2, new[] { (0UL, Page) }, argsz: 8 + 15), Errno.EINVAL },
        { "request cut short", VfioMachine.FeatureArg(2, new[] { (0UL, Page) }, bytes: 8 + 15), Errno.EFAULT },
        { "no ranges", VfioMachine.FeatureArg(2, Array.Empty<(ulong, ulong)>()), Errno.EINVAL },
        { "flags set", VfioMachine.FeatureArg(2, new[] { (0UL, Page) }, dmaBufFlags: 1), Errno.EINVAL },
        { "ROM region", VfioMachine.FeatureArg(6, new[] { (0UL, Page) }), Errno.ENODEV },
        { "config region", VfioMachine.FeatureArg(7, new[] { (0UL, Page) }), Errno.ENODEV },
        { "range array over kmalloc's limit", VfioMachine.FeatureArg(2, new[] { (0UL, Page) }, nrRanges: 262145), Errno.ENOMEM },
        { "ranges cut short", VfioMachine.FeatureArg(2, new[] { (0UL, Page) }, nrRanges: 2), Errno.EFAULT },
        { "empty range", VfioMachine.FeatureArg(2, new[] { (0UL, Page), (Page, 0UL) }), Errno.EINVAL },
        { "offset not page aligned", VfioMachine.FeatureArg(2, new[] { (0x800UL, Page) }), Errno.EINVAL },
        { "length not page aligned", VfioMachine.FeatureArg(2, new[] { (0UL, Page + 1) }), Errno.EINVAL },
        { "total overflows", VfioMachine.FeatureArg(2, new[] { (0UL, 1UL << 63), (0UL, 1UL << 63) }), Errno.EINVAL },
        { "total has bit 63", VfioMachine.FeatureArg(2, new[] { (0UL, 1UL << 63) }), Errno.EINVAL },
        { "physical address overflows", VfioMachine.FeatureArg(2, new[] { (0xFFFF_FFFF_FFFF_F000UL, Page) }), Errno.EOVERFLOW },
        { "range past the BAR", VfioMachine.FeatureArg(2, new[] { ((4 * VfioMachine.MiB) - Page, 2 * Page) }), Errno.EINVAL },
        { "second range past the BAR", VfioMachine.FeatureArg(2, new[] { (0UL, Page), (4 * VfioMachine.MiB, Page) }), Errno.EINVAL },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void DmaBuf_BadRequest_IsRefusedWithTheKernelsErrno_AndLeavesNothingBehind(string why, byte[] userMemory, Errno expected)
    {
        using var m = new VfioMachine();
        int registrations = m.Vdev.RegistrationCount;
        int open = m.User.OpenCount;

        Result<int> result = m.Vdev.IoctlDeviceFeature(m.User, m.DeviceFd, userMemory);

        Assert.True(expected == result.Error, $"{why}: expected {expected}, got {result}");
        Assert.Empty(m.Vdev.DmaBufList);
        Assert.Equal(0, m.Host.LiveBuffers);
        Assert.Equal(registrations, m.Vdev.RegistrationCount);
        Assert.Equal(open, m.User.OpenCount);
    }

    [Fact]
    public void DmaBuf_EndAddressOverflows_ReturnsEoverflow()
    {
        using var m = new VfioMachine();
        ulong offset = unchecked(0UL - m.Bar2.Address - Page);

        Assert.Equal(Errno.EOVERFLOW, m.Vdev.IoctlDeviceFeature(m.User, m.DeviceFd, VfioMachine.FeatureArg(2, new[] { (offset, 2 * Page) })).Error);
    }

    [Theory]
    [InlineData(KernelProfile.Linux619, Errno.EINVAL)]
    [InlineData(KernelProfile.Revoke2026, Errno.ENODEV)]
    public void DmaBuf_BarThatDoesNotExist_IsEinvalAtV619AndEnodevLater(KernelProfile kernel, Errno expected)
    {
        using var m = new VfioMachine(kernel);

        Assert.Equal(expected, m.Vdev.IoctlDeviceFeature(m.User, m.DeviceFd, VfioMachine.FeatureArg(1, new[] { (0UL, Page) })).Error);
    }

    [Fact]
    public void DmaBuf_DeviceWithNonMappableBars_HasNoProvider_Einval()
    {
        using var m = new VfioMachine(beforeBind: machine => machine.P2pDma.SetNonMappableBars(machine.Fabric["exp"], true));

        Assert.Null(m.Machine.P2pDma.GetP2pdma(m.Exp));
        Assert.Equal(Errno.EINVAL, m.Export((0, Page)).Error);
    }

    [Fact]
    public void DmaBuf_VariantDriverWithoutGetDmabufPhys_ReturnsEopnotsupp()
    {
        using var m = new VfioMachine(options: new VfioPciOptions { SupportsDmaBuf = false });

        Assert.Equal(Errno.EOPNOTSUPP, m.Export((0, Page)).Error);
    }

    [Fact]
    public void Ioctl_OnABadDescriptorOrAnotherFile_IsEbadfOrEnotty()
    {
        using var m = new VfioMachine();
        int dmabufFd = m.Export((0, Page)).Value;
        byte[] arg = VfioMachine.FeatureArg(2, new[] { (0UL, Page) });

        Assert.Equal(Errno.EBADF, m.Vdev.IoctlDeviceFeature(m.User, 99, arg).Error);
        Assert.Equal(Errno.ENOTTY, m.Vdev.IoctlDeviceFeature(m.User, dmabufFd, arg).Error);
        Assert.Equal(Errno.ENOTTY, m.Vdev.IoctlReset(m.User, dmabufFd));
        Assert.Equal(Errno.EBADF, m.Vdev.ConfigWrite(m.User, 99, 4, new byte[2]).Error);
    }

    [Fact]
    public void DmaBuf_DescriptorTableFull_ReturnsEmfile_AndTheBufferIsReleased()
    {
        using var m = new VfioMachine();
        var full = new Process("full", maxFiles: 1);
        int deviceFd = m.Vdev.Open(full).Value;
        int registrations = m.Vdev.RegistrationCount;

        Assert.Equal(Errno.EMFILE, m.Vdev.IoctlDeviceFeature(full, deviceFd, VfioMachine.FeatureArg(2, new[] { (0UL, Page) })).Error);

        Assert.Empty(m.Vdev.DmaBufList);
        Assert.Equal(0, m.Host.LiveBuffers);
        Assert.Equal(registrations, m.Vdev.RegistrationCount);
    }

    [Fact]
    public void DmaBuf_ExportedWhileMemoryDecodeIsOff_StartsRevoked()
    {
        using var m = new VfioMachine();
        m.MemoryOff();

        DmaBuffer dmabuf = m.Get(m.Export((0, Page)).Value);

        Assert.True(((VfioPciDmaBuf)dmabuf.Priv).Revoked);
        m.MemoryOn();
        Assert.False(((VfioPciDmaBuf)dmabuf.Priv).Revoked);
    }
}
