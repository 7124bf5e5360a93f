using P2pEmu.Dma.Block;
using P2pEmu.Emulator.Host;
using Xunit;

namespace P2pEmu.Integration.Tests.NvmeDriver;

/// <summary>The O_DIRECT rules of the block device: alignment, the end of the disk, nothing written on refusal.</summary>
public sealed class NvmeDirectIoRulesTests
{
    [Theory]
    [InlineData(100, 0, 512)]  // position not a multiple of the logical block size
    [InlineData(0, 0, 700)]    // length not a multiple of it
    [InlineData(0, 2, 512)]    // buffer not dword aligned
    public void MisalignedIo_FailsWithEinval_AndWritesNothing(long position, int offset, int length)
    {
        using Machine.Machine machine = Machine.Machine.Load("default");
        BlockDevice disk = machine.BlockDevices["nvme0n1"];
        KernelBuffer buffer = KernelBuffer.Contiguous(machine, 1);
        buffer.Write(0, KernelBuffer.Random(8192, 1));
        long before = machine.Fabric.BytesCopied;

        Assert.Equal(Errno.EINVAL, disk.WriteDirect(position, buffer.Vecs(offset, length)).Error);
        Assert.Equal(Errno.EINVAL, disk.ReadDirect(position, buffer.Vecs(offset, length)).Error);

        Assert.Equal(before, machine.Fabric.BytesCopied);
        KernelBuffer back = KernelBuffer.Contiguous(machine, 1);
        back.Fill(0xFF);
        KernelBuffer.Ok(disk.ReadDirect(0, back.Vecs(0, 8192)));
        Assert.All(back.Read(0, 8192), b => Assert.Equal(0, b));
    }

    [Fact]
    public void SegmentsThatAreNotWholeBlocks_AreFine_WhenTheTotalIs()
    {
        using Machine.Machine machine = Machine.Machine.Load("default");
        BlockDevice disk = machine.BlockDevices["nvme0n1"];
        KernelBuffer buffer = KernelBuffer.Contiguous(machine, 1);
        byte[] data = KernelBuffer.Random(1024, 2);
        buffer.Write(3900, data);

        // 196 bytes in the first page, 828 in the second.
        Assert.Equal(1024, KernelBuffer.Ok(disk.WriteDirect(512, buffer.Vecs(3900, 1024))));
        KernelBuffer back = KernelBuffer.Contiguous(machine, 0);
        KernelBuffer.Ok(disk.ReadDirect(512, back.Vecs(0, 1024)));

        Assert.Equal(data, back.Read(0, 1024));
    }

    [Fact]
    public void AtAndAcrossTheEndOfTheDisk_ReadsAreShortAndWritesGetEnospc()
    {
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.Single(0, Emulator.Topology.IommuMode.Off, 1024 * 1024));
        BlockDevice disk = machine.BlockDevices["nvme0n1"];
        KernelBuffer buffer = KernelBuffer.Contiguous(machine, 1);
        long end = (long)disk.SizeBytes;

        Assert.Equal(0, KernelBuffer.Ok(disk.ReadDirect(end, buffer.Vecs(0, 4096))));
        Assert.Equal(Errno.ENOSPC, disk.WriteDirect(end, buffer.Vecs(0, 4096)).Error);
        Assert.Equal(1024, KernelBuffer.Ok(disk.WriteDirect(end - 1024, buffer.Vecs(0, 4096))));
        Assert.Equal(1024, KernelBuffer.Ok(disk.ReadDirect(end - 1024, buffer.Vecs(0, 8192))));
    }

    [Fact]
    public void ExtractedPagesOverload_ReadsAndWritesLikeTheBvecList()
    {
        using Machine.Machine machine = Machine.Machine.Load("default");
        BlockDevice disk = machine.BlockDevices["nvme0n1"];
        KernelBuffer buffer = KernelBuffer.Scattered(machine, 3);
        byte[] data = KernelBuffer.Random(8192, 5);
        buffer.Write(1024, data);
        var pages = new[] { new Emulator.Addressing.PhysAddress(buffer.Pages[0]), new(buffer.Pages[1]), new(buffer.Pages[2]) };

        Assert.Equal(8192, KernelBuffer.Ok(disk.WriteDirect(4096, pages, 1024, 8192)));
        KernelBuffer back = KernelBuffer.Contiguous(machine, 1);
        KernelBuffer.Ok(disk.ReadDirect(4096, back.Vecs(0, 8192)));

        Assert.Equal(data, back.Read(0, 8192));
    }
}
