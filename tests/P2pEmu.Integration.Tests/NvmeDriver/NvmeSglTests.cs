using System.Collections.Generic;
using P2pEmu.Dma.Block;
using P2pEmu.Drivers.Nvme;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Integration.Tests.NvmeDriver;

/// <summary>When the driver sends data as an SGL instead of PRPs (<c>nvme_pci_use_sgls</c>), and that it lands either way.</summary>
public sealed class NvmeSglTests
{
    private static void RoundTrip(BlockDevice disk, IReadOnlyList<BioVec> source, KernelBuffer sourceBuffer, int offset, int bytes, int seed)
    {
        byte[] data = KernelBuffer.Random(bytes, seed);
        sourceBuffer.Write(offset, data);
        KernelBuffer.Ok(disk.WriteDirect(0, source));
        sourceBuffer.Fill(0);
        KernelBuffer.Ok(disk.ReadDirect(0, source));
        Assert.Equal(KernelBuffer.Hash(data), KernelBuffer.Hash(sourceBuffer.Read(offset, bytes)));
    }

    [Fact]
    public void OneLargeSegment_GoesAsASingleDataBlock()
    {
        using Machine.Machine machine = Machine.Machine.Load("default");
        NvmeDev dev = machine.NvmeDrivers["nvme0"];
        KernelBuffer buffer = KernelBuffer.Contiguous(machine, 5);
        long sgls = dev.SglCommands;

        RoundTrip(machine.BlockDevices["nvme0n1"], buffer.Vecs(0, 128 * 1024), buffer, 0, 128 * 1024, 1);

        Assert.Equal(sgls + 2, dev.SglCommands);
    }

    [Fact]
    public void TwoLargeSegmentsWithoutAnIommu_GoAsASegmentList()
    {
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.Single(0, IommuMode.Off, 16 * Topo.MiB));
        NvmeDev dev = machine.NvmeDrivers["nvme0"];
        KernelBuffer first = KernelBuffer.Contiguous(machine, 4);
        KernelBuffer second = KernelBuffer.Contiguous(machine, 4);
        byte[] a = KernelBuffer.Random(65536, 2);
        byte[] b = KernelBuffer.Random(65536, 3);
        first.Write(0, a);
        second.Write(0, b);
        var buffer = new List<BioVec>(first.Vecs(0, 65536));
        buffer.AddRange(second.Vecs(0, 65536));
        long sgls = dev.SglCommands;
        BlockDevice disk = machine.BlockDevices["nvme0n1"];

        KernelBuffer.Ok(disk.WriteDirect(0, buffer));
        KernelBuffer back = KernelBuffer.Contiguous(machine, 5);
        KernelBuffer.Ok(disk.ReadDirect(0, back.Vecs(0, 131072)));

        Assert.Equal(sgls + 2, dev.SglCommands);
        Assert.Equal(a, back.Read(0, 65536));
        Assert.Equal(b, back.Read(65536, 65536));
    }

    [Fact]
    public void SmallSegments_AndAThresholdOfZero_KeepBlockIoOnPrps_ButPassthroughUsesAnSgl()
    {
        using Machine.Machine machine = DriverTopologies.BuildWith(DriverTopologies.Single(0, IommuMode.Off, 16 * Topo.MiB), new NvmeDriverOptions { SglThreshold = 0 });
        NvmeDev dev = machine.NvmeDrivers["nvme0"];
        KernelBuffer contiguous = KernelBuffer.Contiguous(machine, 5);
        RoundTrip(dev.Namespaces[0].Disk, contiguous.Vecs(0, 128 * 1024), contiguous, 0, 128 * 1024, 4);
        Assert.Equal(0, dev.SglCommands);

        var bio = new Bio(machine.P2pDma, ReqOp.Read, 0);
        bio.BioAddPage(new Emulator.Addressing.PhysAddress(contiguous.Pages[0]), 4096, 0);
        Assert.Equal(NvmeStatusCode.Success, dev.Namespaces[0].SubmitIo(false, 0, 8, bio).Status);
        Assert.Equal(1, dev.SglCommands);
    }

    [Fact]
    public void ScatteredPages_AverageBelowTheThreshold_UsePrps()
    {
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.Single(0, IommuMode.Off, 16 * Topo.MiB));
        NvmeDev dev = machine.NvmeDrivers["nvme0"];
        KernelBuffer scattered = KernelBuffer.Scattered(machine, 8);

        RoundTrip(machine.BlockDevices["nvme0n1"], scattered.Vecs(0, 8 * 4096), scattered, 0, 8 * 4096, 5);

        Assert.Equal(0, dev.SglCommands);
    }
}
