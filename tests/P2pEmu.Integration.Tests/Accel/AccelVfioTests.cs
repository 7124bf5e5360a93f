using P2pEmu.Dma.Userspace;
using P2pEmu.Drivers.Vfio;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Topology;
using P2pEmu.Integration.Tests.DmaBuf;
using Xunit;
using DmaBuffer = P2pEmu.Dma.DmaBuf.DmaBuf;

namespace P2pEmu.Integration.Tests.Accel;

/// <summary>
/// The accelerator bound to vfio-pci by the machine: a user process exports a range of its device memory (BAR1) as a
/// dma-buf, and another device imports it and DMAs into it peer to peer.
/// </summary>
public sealed class AccelVfioTests
{
    private const ulong Offset = 0x10_0000;
    private const ulong Length = 0x4000;

    [Fact]
    public void Machine_BindsEveryAcceleratorToVfioPci_OnlyWhenDriversAreBound()
    {
        using var bound = new AccelHarness(bindDrivers: true);
        using var unbound = new AccelHarness(bindDrivers: false);

        Assert.NotNull(bound.Machine.Vfio.Find(bound.Gpu));
        Assert.Null(bound.Machine.Vfio.Find(bound.Nvme));
        Assert.Same(bound.Machine.Accelerators["gpu0"].Function, bound.Gpu);
        Assert.Empty(unbound.Machine.Vfio.Devices);
    }

    [Theory]
    [InlineData(IommuMode.Off)]
    [InlineData(IommuMode.Translate)]
    public void DeviceMemory_ExportedAsDmaBuf_ImporterDmaLandsInBar1(IommuMode iommu)
    {
        using var h = new AccelHarness(iommu, bindDrivers: true);
        VfioPciCoreDevice vdev = h.Machine.Vfio.Find(h.Gpu)!;
        var user = new Process("user");
        int deviceFd = vdev.Open(user).Value;

        Result<int> exported = vdev.IoctlDeviceFeature(user, deviceFd, VfioMachine.FeatureArg(1, new[] { (Offset, Length) }));

        Assert.True(exported.IsSuccess, exported.ToString());
        DmaBuffer dmabuf = h.Machine.DmaBuf.DmaBufGet(user, exported.Value).Value;
        h.Machine.DmaBuf.DmaBufPut(dmabuf);
        Assert.Equal(Length, dmabuf.Size);
        var importer = new TestImporter(h.Machine.DmaBuf, dmabuf, h.Machine.Dma.GetDevice(h.Nvme), h.Fabric);
        Assert.True(importer.AttachResult.IsSuccess, importer.AttachResult.ToString());
        Assert.Equal(Errno.None, importer.Map());
        SgEntry segment = Assert.Single(importer.LastSegments);
        Assert.Equal(h.Bar1 + Offset, segment.Address.Value); // same switch: BUS_ADDR, the BAR's bus address
        Assert.Equal(Length, segment.Length);

        byte[] data = AccelCopyEngineTests.Pattern((int)Length, 21);
        DmaResult written = importer.Port.Write(importer.LastSegments, data);

        Assert.True(written.IsSuccess, written.ToString());
        Assert.Equal(data, h.CpuRead(h.Bar1 + Offset, (int)Length));
        Assert.All(h.CpuRead(h.Bar1 + Offset - 0x1000, 0x1000), b => Assert.Equal(0, b));
        Assert.All(h.CpuRead(h.Bar1 + Offset + Length, 0x1000), b => Assert.Equal(0, b));
        importer.Unmap();
        Assert.Equal(Errno.None, importer.Detach());
    }

    [Fact]
    public void DeviceMemory_ImportedByDmaBuf_IsWhatTheCopyEngineReads()
    {
        using var h = new AccelHarness(IommuMode.Translate, bindDrivers: true);
        VfioPciCoreDevice vdev = h.Machine.Vfio.Find(h.Gpu)!;
        var user = new Process("user");
        int deviceFd = vdev.Open(user).Value;
        DmaBuffer dmabuf = h.Machine.DmaBuf.DmaBufGet(user, vdev.IoctlDeviceFeature(user, deviceFd, VfioMachine.FeatureArg(1, new[] { (Offset, Length) })).Value).Value;
        h.Machine.DmaBuf.DmaBufPut(dmabuf);
        var importer = new TestImporter(h.Machine.DmaBuf, dmabuf, h.Machine.Dma.GetDevice(h.Nvme), h.Fabric);
        Assert.Equal(Errno.None, importer.Map());
        byte[] data = AccelCopyEngineTests.Pattern((int)Length, 22);
        Assert.True(importer.Port.Write(importer.LastSegments, data).IsSuccess);
        (ulong cpu, ulong iova) = h.Alloc(Length);
        h.Enable();

        h.Submit(AccelHarness.Copy(h.Bar1 + Offset, iova, (uint)Length));

        Assert.Equal((uint)Emulator.Devices.Accel.AccelDescriptorStatus.Done, h.Last.Status);
        Assert.Equal(data, h.CpuRead(cpu, (int)Length));
        importer.Unmap();
        Assert.Equal(Errno.None, importer.Detach());
    }
}
