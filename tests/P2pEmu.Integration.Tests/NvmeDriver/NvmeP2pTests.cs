using System.Collections.Generic;
using System.Linq;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Drivers.Nvme;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using Xunit;

namespace P2pEmu.Integration.Tests.NvmeDriver;

/// <summary>
/// O_DIRECT between a namespace and another controller's CMB (P2P pages), spec §3.4: BUS_ADDR through a switch,
/// THRU_HOST_BRIDGE through the IOMMU, NOT_SUPPORTED refused with EINVAL; bios never mix page maps.
/// </summary>
public sealed class NvmeP2pTests
{
    /// <summary>More than MDTS: two requests, each with a PRP list of P2P addresses.</summary>
    private const int Bytes = 192 * 1024;

    private static PciP2pdmaMapType MapType(Machine.Machine machine) => machine.P2pDma.Explain(machine.Fabric["nvme1"], machine.Fabric["nvme0"]).MapType;

    /// <summary>Writes random data to nvme0n1 at 0 from host pages.</summary>
    private static byte[] Seed(Machine.Machine machine, int seed)
    {
        byte[] data = KernelBuffer.Random(Bytes, seed);
        KernelBuffer host = KernelBuffer.Contiguous(machine, 6);
        host.Write(0, data);
        KernelBuffer.Ok(machine.BlockDevices["nvme0n1"].WriteDirect(0, host.Vecs(0, Bytes)));
        return data;
    }

    [Theory]
    [InlineData(true)]  // SGL Data Blocks carrying the bus address
    [InlineData(false)] // PRP entries carrying it
    public void ReadIntoPeerCmb_BehindOneSwitch_IsBusAddr_TurnsAroundInTheSwitch_WithoutTheIommu(bool sgl)
    {
        using Machine.Machine machine = DriverTopologies.BuildWith(DriverTopologies.SwitchPair(AcsFlags.None), new NvmeDriverOptions { SglThreshold = sgl ? 32 * 1024u : 0 });
        byte[] data = Seed(machine, 1);
        long sgls = machine.NvmeDrivers["nvme0"].SglCommands;
        KernelBuffer cmb = KernelBuffer.P2pmem(machine, "nvme1", Bytes);
        long switchPeer = machine.Fabric.BytesOnPath(RoutePath.SwitchPeer);
        long viaRootComplex = machine.Fabric.BytesOnPath(RoutePath.RootComplexPeer);

        Assert.Equal(PciP2pdmaMapType.BusAddr, MapType(machine));
        Assert.Equal(Bytes, KernelBuffer.Ok(machine.BlockDevices["nvme0n1"].ReadDirect(0, cmb.Vecs(0, Bytes))));

        Assert.Equal(KernelBuffer.Hash(data), KernelBuffer.Hash(cmb.Read(0, Bytes)));
        Assert.Equal(Bytes, machine.Fabric.BytesOnPath(RoutePath.SwitchPeer) - switchPeer);
        Assert.Equal(viaRootComplex, machine.Fabric.BytesOnPath(RoutePath.RootComplexPeer));
        Assert.Equal(0, machine.Iommus[0].Faults.TotalCount);
        Assert.Equal(sgl ? 2 : 0, machine.NvmeDrivers["nvme0"].SglCommands - sgls); // 192 KiB: two requests
    }

    [Fact]
    public void WriteFromPeerCmb_BusAddr_RoundTripsBackToHostMemory()
    {
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.SwitchPair(AcsFlags.None));
        KernelBuffer cmb = KernelBuffer.P2pmem(machine, "nvme1", Bytes);
        byte[] data = KernelBuffer.Random(Bytes, 2);
        cmb.Write(0, data);
        BlockDevice disk = machine.BlockDevices["nvme0n1"];

        KernelBuffer.Ok(disk.WriteDirect(4096, cmb.Vecs(0, Bytes)));
        KernelBuffer host = KernelBuffer.Contiguous(machine, 6);
        KernelBuffer.Ok(disk.ReadDirect(4096, host.Vecs(0, Bytes)));

        Assert.Equal(KernelBuffer.Hash(data), KernelBuffer.Hash(host.Read(0, Bytes)));
    }

    [Theory]
    [InlineData(IommuMode.Translate)] // an IOVA the IOMMU translates to the CMB
    [InlineData(IommuMode.Off)]       // dma-direct: the CMB's CPU physical address, unchanged (DMA_ATTR_MMIO)
    public void ReadIntoPeerCmb_ThroughTheHostBridge_GoesUpToTheRootComplexAndBack(IommuMode iommu)
    {
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.SwitchPair(AcsFlags.RR | AcsFlags.CR, iommu: iommu));
        byte[] data = Seed(machine, 3);
        KernelBuffer cmb = KernelBuffer.P2pmem(machine, "nvme1", Bytes);
        long switchPeer = machine.Fabric.BytesOnPath(RoutePath.SwitchPeer);
        long viaRootComplex = machine.Fabric.BytesOnPath(RoutePath.RootComplexPeer);

        Assert.Equal(PciP2pdmaMapType.ThruHostBridge, MapType(machine));
        Assert.Equal(Bytes, KernelBuffer.Ok(machine.BlockDevices["nvme0n1"].ReadDirect(0, cmb.Vecs(0, Bytes))));

        Assert.Equal(KernelBuffer.Hash(data), KernelBuffer.Hash(cmb.Read(0, Bytes)));
        Assert.Equal(Bytes, machine.Fabric.BytesOnPath(RoutePath.RootComplexPeer) - viaRootComplex);
        Assert.Equal(switchPeer, machine.Fabric.BytesOnPath(RoutePath.SwitchPeer));
        Assert.All(machine.Iommus, u => Assert.Equal(0, u.Faults.TotalCount));
    }

    [Fact]
    public void PeerCmbTheKernelCannotReach_FailsWithEinval_AndNothingMoves()
    {
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.TwoRootPortsNoP2p());
        Seed(machine, 4);
        KernelBuffer cmb = KernelBuffer.P2pmem(machine, "nvme1", Bytes);
        cmb.Fill(0x77);
        long copied = machine.Fabric.BytesCopied;
        BlockDevice disk = machine.BlockDevices["nvme0n1"];

        Assert.Equal(PciP2pdmaMapType.NotSupported, MapType(machine));
        Assert.Equal(Errno.EINVAL, disk.ReadDirect(0, cmb.Vecs(0, Bytes)).Error);
        Assert.Equal(Errno.EINVAL, disk.WriteDirect(0, cmb.Vecs(0, Bytes)).Error);

        Assert.All(cmb.Read(0, Bytes), b => Assert.Equal(0x77, b));
        Assert.Equal(copied, machine.Fabric.BytesCopied);
    }

    [Fact]
    public void BioAddPage_RefusesToMixHostAndP2pPages_OrTwoProviders()
    {
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.SwitchPair(AcsFlags.None, cmbOnBoth: true));
        var host = new PhysAddress(machine.Pages.AllocPage().Value);
        var p2p0 = new PhysAddress(machine.P2pDma.PciAllocP2pmem(machine.Fabric["nvme0"], 4096)!.BusAddress);
        var p2p1 = new PhysAddress(machine.P2pDma.PciAllocP2pmem(machine.Fabric["nvme1"], 4096)!.BusAddress);

        var hostFirst = new Bio(machine.P2pDma, ReqOp.Read, 0);
        Assert.Equal(4096u, hostFirst.BioAddPage(host, 4096, 0));
        Assert.Equal(0u, hostFirst.BioAddPage(p2p1, 4096, 0));
        Assert.Equal(ReqFlags.None, hostFirst.Flags);

        var p2pFirst = new Bio(machine.P2pDma, ReqOp.Read, 0);
        Assert.Equal(4096u, p2pFirst.BioAddPage(p2p1, 4096, 0));
        Assert.Equal(ReqFlags.P2pdma | ReqFlags.NoMerge, p2pFirst.Flags);
        Assert.Equal(0u, p2pFirst.BioAddPage(host, 4096, 0));
        Assert.Equal(0u, p2pFirst.BioAddPage(p2p0, 4096, 0));
        Assert.Equal(4096u, p2pFirst.Size);
    }

    [Fact]
    public void DirectIoOverHostAndP2pPages_GoesAsTwoBios_AndBothPartsLand()
    {
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.SwitchPair(AcsFlags.None));
        byte[] data = Seed(machine, 5);
        KernelBuffer host = KernelBuffer.Contiguous(machine, 0);
        KernelBuffer cmb = KernelBuffer.P2pmem(machine, "nvme1", 4096);
        BlockDevice disk = machine.BlockDevices["nvme0n1"];
        long before = disk.Queue.TagSet.HwQueues.Sum(h => h.Dispatched);
        var buffer = new List<BioVec>(host.Vecs(0, 4096));
        buffer.AddRange(cmb.Vecs(0, 4096));

        Assert.Equal(8192, KernelBuffer.Ok(disk.ReadDirect(0, buffer)));

        Assert.Equal(2, disk.Queue.TagSet.HwQueues.Sum(h => h.Dispatched) - before);
        Assert.Equal(data[..4096], host.Read(0, 4096));
        Assert.Equal(data[4096..8192], cmb.Read(0, 4096));
    }

    [Fact]
    public void HostAndP2pPagesInsideOneLogicalBlock_FailWithEinval_BeforeAnythingIsSent()
    {
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.SwitchPair(AcsFlags.None));
        Seed(machine, 6);
        KernelBuffer host = KernelBuffer.Contiguous(machine, 0);
        KernelBuffer cmb = KernelBuffer.P2pmem(machine, "nvme1", 4096);
        cmb.Fill(0x11);
        long copied = machine.Fabric.BytesCopied;
        var buffer = new List<BioVec>(host.Vecs(4096 - 256, 256));
        buffer.AddRange(cmb.Vecs(0, 256));

        Assert.Equal(Errno.EINVAL, machine.BlockDevices["nvme0n1"].ReadDirect(0, buffer).Error);

        Assert.Equal(copied, machine.Fabric.BytesCopied);
        Assert.All(cmb.Read(0, 4096), b => Assert.Equal(0x11, b));
    }

    [Fact]
    public void StaleMapTypeAfterAcsChange_BusAddressHitsTheIommu_RetriedThenEio()
    {
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.SwitchPair(AcsFlags.None));
        Seed(machine, 7);
        KernelBuffer cmb = KernelBuffer.P2pmem(machine, "nvme1", Bytes);
        BlockDevice disk = machine.BlockDevices["nvme0n1"];
        KernelBuffer.Ok(disk.ReadDirect(0, cmb.Vecs(0, Bytes))); // caches BUS_ADDR for nvme0
        foreach (string port in new[] { "sw0.dp0", "sw0.dp1" })
        {
            PciFunction f = machine.Fabric[port];
            f.Config.Write16(f.AcsCapabilityOffset + AcsConfig.Control, (ushort)(AcsFlags.RR | AcsFlags.CR));
        }

        cmb.Fill(0x22);

        Assert.Equal(Errno.EIO, disk.ReadDirect(0, cmb.Vecs(0, Bytes)).Error);

        // Per request (the read is split at MDTS): one IOMMU fault for the first try and one for each of the driver's
        // five retries, as Data Transfer Error has no DNR.
        long maxBytes = machine.NvmeDrivers["nvme0"].MaxHwSectors << 9;
        long requests = (Bytes + maxBytes - 1) / maxBytes;
        Assert.Equal(2, requests);
        Assert.Equal(requests * (1 + machine.NvmeDriver.Options.MaxRetries), machine.Iommus[0].Faults.TotalCount);
        Assert.All(cmb.Read(0, Bytes), b => Assert.Equal(0x22, b));
        Assert.Contains(machine.NvmeDrivers["nvme0"].KernelLog, l => l.Contains("status 0x4", System.StringComparison.Ordinal));
    }
}
