using System;
using System.IO.Hashing;
using System.Linq;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.Mm;
using P2pEmu.Dma.Userspace;
using P2pEmu.Drivers.Vfio;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using Xunit;
using DmaBuffer = P2pEmu.Dma.DmaBuf.DmaBuf;

namespace P2pEmu.Integration.Tests.DmaBuf;

/// <summary>
/// One process, one address space, both kinds of P2P memory mapping (the spec's rule for MMIO without struct page): a
/// dma-buf of accelerator memory mapped from its fd is VM_PFNMAP | VM_IO — the CPU reaches it, GUP does not (EFAULT for
/// <c>pin_user_pages</c> and so for O_DIRECT) — while p2pmem mapped through <c>allocate</c> has ZONE_DEVICE pages that
/// O_DIRECT pins with FOLL_PCI_P2PDMA.
/// </summary>
public sealed class ProcessAddressSpaceTests : IDisposable
{
    private const ulong Bytes = 1 << 20;
    private const int Io = 64 << 10;

    // The vfio-pci exporter has an mmap from the revoke series on; on v6.19 its dma-bufs cannot be mapped (below).
    private readonly Machine.Machine _machine = Revoke2026Default();
    private readonly Process _user;
    private readonly VfioPciCoreDevice _vdev;
    private readonly int _deviceFd;
    private readonly int _dmabufFd;
    private readonly DmaBuffer _dmabuf;
    private readonly ulong _dmabufVa;
    private readonly ulong _p2pmemVa;

    public ProcessAddressSpaceTests()
    {
        _user = new Process("app", new MmStruct(_machine.Fabric, _machine.Pages, "app"));
        _vdev = _machine.Vfio.Find(_machine.Fabric["accel0"])!;
        _deviceFd = _vdev.Open(_user).Value;
        _dmabufFd = _vdev.IoctlDeviceFeature(_user, _deviceFd, VfioMachine.FeatureArg(1, [(0, Bytes)])).Value;
        _dmabuf = _machine.DmaBuf.DmaBufGet(_user, _dmabufFd).Value;
        _dmabufVa = _machine.DmaBuf.DmaBufMmap(_dmabuf, Mm, Bytes, Prot.Read | Prot.Write).Value;
        _p2pmemVa = Mm.Mmap(0, Bytes, Prot.Read | Prot.Write, MapFlags.Shared, _machine.P2pDma.GetP2pmemSysfs(_machine.Fabric["nvme1"])!.Allocate).Value;
    }

    private MmStruct Mm => _user.Mm!;

    [Fact]
    public void OnV619_TheVfioExporterHasNoMmap_SoMappingItsDmaBufIsEinval()
    {
        using Machine.Machine machine = Machine.Machine.Load("default");
        var user = new Process("app", new MmStruct(machine.Fabric, machine.Pages, "app"));
        VfioPciCoreDevice vdev = machine.Vfio.Find(machine.Fabric["accel0"])!;
        int fd = vdev.IoctlDeviceFeature(user, vdev.Open(user).Value, VfioMachine.FeatureArg(1, [(0, Bytes)])).Value;
        DmaBuffer dmabuf = machine.DmaBuf.DmaBufGet(user, fd).Value;

        Assert.Equal(Errno.EINVAL, machine.DmaBuf.DmaBufMmap(dmabuf, user.Mm!, Bytes, Prot.Read | Prot.Write).Error);
        Assert.Empty(user.Mm!.Vmas);
        machine.DmaBuf.DmaBufPut(dmabuf);
        user.Exit();
    }

    private Span<byte> AccelMemory => ((PciEndpoint)_machine.Fabric["accel0"]).GetBar(1)!.Memory!.GetSpan(0, (int)Bytes);

    [Fact]
    public void BothMappings_LiveInTheOneAddressSpace_TheDmaBufAsPfnMapIo_TheP2pmemAsPages()
    {
        VmAreaStruct dmabuf = Mm.FindVma(_dmabufVa)!;
        VmAreaStruct p2pmem = Mm.FindVma(_p2pmemVa)!;

        Assert.Equal(VmFlags.PfnMap | VmFlags.Io, dmabuf.Flags & (VmFlags.PfnMap | VmFlags.Io));
        Assert.NotNull(dmabuf.PfnMap);
        Assert.Equal(VmFlags.None, p2pmem.Flags & (VmFlags.PfnMap | VmFlags.Io));
        Assert.Null(p2pmem.PfnMap);
        Assert.Equal(Bytes, dmabuf.LengthBytes);
    }

    [Fact]
    public void CpuStoresAndLoads_ThroughTheDmaBufMapping_ReachTheAcceleratorsMemory()
    {
        byte[] data = Random(1, 5000);

        Assert.Equal(Errno.None, Mm.WriteUser(_dmabufVa + 4000, data));

        Assert.Equal(data, AccelMemory.Slice(4000, data.Length).ToArray());
        byte[] back = new byte[data.Length];
        Assert.Equal(Errno.None, Mm.ReadUser(_dmabufVa + 4000, back));
        Assert.Equal(data, back);
    }

    [Theory]
    [InlineData(FollFlags.None)]
    [InlineData(FollFlags.Write)]
    [InlineData(FollFlags.PciP2pdma)]
    [InlineData(FollFlags.Write | FollFlags.PciP2pdma)]
    public void PinUserPages_OnTheDmaBufMapping_IsEfault_ButOnTheAllocateMapping_PinsP2pPages(FollFlags flags)
    {
        var pages = new Page[4];

        Assert.Equal(Errno.EFAULT, Mm.PinUserPages(_dmabufVa, 4, flags, pages).Error);

        Result<int> pinned = Mm.PinUserPages(_p2pmemVa, 4, flags, pages);
        if ((flags & FollFlags.PciP2pdma) == 0)
        {
            Assert.Equal(Errno.EREMOTEIO, pinned.Error); // a P2P page for a caller that did not say it can take one
        }
        else
        {
            Assert.Equal(4, pinned.Value);
            Assert.All(pages, p => Assert.True(p.IsPciP2pdmaPage));
            Gup.UnpinUserPages(pages);
        }
    }

    [Fact]
    public void ODirectReadIntoTheDmaBufMapping_FailsWithEfault_AndTheAcceleratorsMemoryIsUnchanged()
    {
        BlockDevice disk = _machine.BlockDevices["nvme0n1"];
        Seed(disk, Random(2, Io));
        ulong before = XxHash3.HashToUInt64(AccelMemory);

        Result<long> read = disk.PreadDirect(Mm, _dmabufVa, Io, 0);

        Assert.Equal(Errno.EFAULT, read.Error);
        Assert.Equal(before, XxHash3.HashToUInt64(AccelMemory));
        Assert.Equal(Errno.EFAULT, disk.PwriteDirect(Mm, _dmabufVa, Io, 0).Error);
    }

    [Fact]
    public void ODirectReadIntoTheAllocateMapping_LandsInTheCmb_AndWriteOutOfItReachesTheOtherDrive()
    {
        byte[] data = Random(3, Io);
        Seed(_machine.BlockDevices["nvme0n1"], data);

        Assert.Equal(Io, _machine.BlockDevices["nvme0n1"].PreadDirect(Mm, _p2pmemVa, Io, 0).Value);
        byte[] landed = new byte[Io];
        Assert.Equal(Errno.None, Mm.ReadUser(_p2pmemVa, landed));
        Assert.Equal(XxHash3.HashToUInt64(data), XxHash3.HashToUInt64(landed));

        Assert.Equal(Io, _machine.BlockDevices["nvme1n1"].PwriteDirect(Mm, _p2pmemVa, Io, 0).Value);
        Assert.Equal(XxHash3.HashToUInt64(data), DiskContents.Hash(_machine, _machine.BlockDevices["nvme1n1"], 0, Io));
    }

    [Fact]
    public void AfterTheRevoke_CpuAccessesFault_AndNothingReachesTheMemory()
    {
        Assert.Equal(Errno.None, Mm.WriteUser(_dmabufVa, Random(4, 4096)));
        ulong before = XxHash3.HashToUInt64(AccelMemory);

        Assert.Equal(Errno.None, _user.Close(_deviceFd)); // vfio-pci revokes the device's dma-bufs

        Assert.Equal(Errno.EFAULT, Mm.WriteUser(_dmabufVa + 8192, Random(5, 4096)));
        Assert.Equal(Errno.EFAULT, Mm.ReadUser(_dmabufVa, new byte[16]));
        Assert.Equal(before, XxHash3.HashToUInt64(AccelMemory));
    }

    [Fact]
    public void TheMappingHoldsTheBuffer_PiecesOfAPartialMunmapKeepIt_AndTheLastPieceReleasesIt()
    {
        Assert.Equal(Errno.None, _machine.DmaBuf.DmaBufPut(_dmabuf));
        Assert.Equal(Errno.None, _user.Close(_dmabufFd));
        Assert.False(_dmabuf.IsReleased); // the VMA's reference

        Assert.Equal(Errno.None, Mm.Munmap(_dmabufVa, Bytes / 2));
        byte[] data = Random(6, 100);
        Assert.Equal(Errno.None, Mm.WriteUser(_dmabufVa + (Bytes / 2) + 10, data));
        Assert.Equal(data, AccelMemory.Slice((int)(Bytes / 2) + 10, 100).ToArray()); // the piece still maps its offsets
        Assert.Equal(Errno.EFAULT, Mm.WriteUser(_dmabufVa, data));
        Assert.False(_dmabuf.IsReleased);

        Assert.Equal(Errno.None, Mm.Munmap(_dmabufVa + (Bytes / 2), Bytes / 2));

        Assert.True(_dmabuf.IsReleased);
    }

    public void Dispose()
    {
        _user.Exit();
        _machine.Dispose();
    }

    private static Machine.Machine Revoke2026Default()
    {
        P2pEmu.Emulator.Topology.TopologyDescription topology = Machine.TopologySource.Load("default");
        return Machine.Machine.Build(topology with { Platform = topology.Platform with { Kernel = P2pEmu.Emulator.Topology.KernelProfile.Revoke2026 } });
    }

    private void Seed(BlockDevice disk, byte[] data)
    {
        int order = HostPageAllocator.OrderForBytes((ulong)data.Length);
        ulong pages = _machine.Pages.AllocPages(order).Value;
        Assert.True(_machine.Fabric.TryHostWrite(pages, data));
        var list = Enumerable.Range(0, data.Length / 4096).Select(i => new PhysAddress(pages + ((ulong)i * 4096))).ToList();
        Assert.Equal(data.Length, disk.WriteDirect(0, list, 0, (ulong)data.Length).Value);
        _machine.Pages.FreePages(pages, order);
    }

    private static byte[] Random(int seed, int length)
    {
        byte[] data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }
}
