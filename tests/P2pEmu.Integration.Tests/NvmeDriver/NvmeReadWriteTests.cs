using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using P2pEmu.Dma.Block;
using P2pEmu.Drivers.Nvme;
using P2pEmu.Emulator.Execution;
using P2pEmu.Emulator.Topology;
using P2pEmu.Machine;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Integration.Tests.NvmeDriver;

/// <summary>
/// O_DIRECT round trips of random data through the driver and the controller, checked by checksum, in both execution
/// modes: the controller working inside the doorbell write, and on its own thread.
/// </summary>
public sealed class NvmeReadWriteTests
{
    private static Machine.Machine Load(string name, ExecutionMode mode) => Machine.Machine.Load(name, new MachineOptions { ExecutionMode = mode });

    private static Machine.Machine Build(TopologyDescription topology, ExecutionMode mode) => Machine.Machine.Build(topology, new MachineOptions { ExecutionMode = mode });

    /// <summary>
    /// Waits out reaps still finishing on a controller's thread: a reap counts its completions after ending their
    /// requests, under the queue's poll lock, which a poll of every queue takes in turn.
    /// </summary>
    internal static void SettleReaps(NvmeDev dev)
    {
        foreach (BlkMqHwCtx hctx in dev.TagSet!.HwQueues)
        {
            dev.TagSet.Ops.Poll(hctx);
        }
    }

    [Theory]
    [InlineData(512, ExecutionMode.Deterministic)]
    [InlineData(4096, ExecutionMode.Deterministic)]
    [InlineData(8192, ExecutionMode.Deterministic)]
    [InlineData(12 * 1024, ExecutionMode.Deterministic)]
    [InlineData(128 * 1024, ExecutionMode.Deterministic)]
    [InlineData(1024 * 1024, ExecutionMode.Deterministic)]
    [InlineData(512, ExecutionMode.Concurrent)]
    [InlineData(12 * 1024, ExecutionMode.Concurrent)]
    [InlineData(1024 * 1024, ExecutionMode.Concurrent)]
    public void WriteThenRead_RandomData_ComesBackIdentical_WithAndWithoutIommu(int bytes, ExecutionMode mode)
    {
        foreach (string topology in new[] { "default", "two-root-ports-nvme" })
        {
            using Machine.Machine machine = topology == "default"
                ? Load("default", mode)
                : Build(DriverTopologies.Single(0, IommuMode.Off, 16 * Topo.MiB), mode);
            BlockDevice disk = machine.BlockDevices["nvme0n1"];
            KernelBuffer source = KernelBuffer.Contiguous(machine, 8);
            KernelBuffer target = KernelBuffer.Contiguous(machine, 8);
            byte[] data = KernelBuffer.Random(bytes, bytes);
            source.Write(0, data);
            target.Fill(0xEE);

            Assert.Equal(bytes, KernelBuffer.Ok(disk.WriteDirect(1024 * 1024, source.Vecs(0, bytes))));
            Assert.Equal(bytes, KernelBuffer.Ok(disk.ReadDirect(1024 * 1024, target.Vecs(0, bytes))));

            Assert.Equal(KernelBuffer.Hash(data), KernelBuffer.Hash(target.Read(0, bytes)));
            Assert.All(target.Read(bytes, target.SizeBytes - bytes), b => Assert.Equal(0xEE, b));
        }
    }

    [Theory]
    [InlineData(512, 4096, ExecutionMode.Deterministic)]     // PRP1 only, starting inside a page
    [InlineData(3584, 1024, ExecutionMode.Deterministic)]    // PRP1 to the page end, PRP2 for the rest
    [InlineData(512, 5 * 4096, ExecutionMode.Deterministic)] // PRP1 with an offset, then a PRP list
    [InlineData(4092, 8192, ExecutionMode.Deterministic)]    // a dword-aligned start 4 bytes before a page end
    [InlineData(3584, 1024, ExecutionMode.Concurrent)]
    [InlineData(512, 5 * 4096, ExecutionMode.Concurrent)]
    public void OddBufferOffsets_BuildPrp1Prp2AndListsThatLandRight(int offset, int bytes, ExecutionMode mode)
    {
        using Machine.Machine machine = Load("default", mode);
        BlockDevice disk = machine.BlockDevices["nvme0n1"];
        KernelBuffer source = KernelBuffer.Contiguous(machine, 4);
        KernelBuffer target = KernelBuffer.Contiguous(machine, 4);
        byte[] data = KernelBuffer.Random(bytes, offset);
        source.Write(offset, data);
        target.Fill(0x5A);

        KernelBuffer.Ok(disk.WriteDirect(64 * 1024, source.Vecs(offset, bytes)));
        KernelBuffer.Ok(disk.ReadDirect(64 * 1024, target.Vecs(offset, bytes)));

        Assert.Equal(data, target.Read(offset, bytes));
        Assert.All(target.Read(0, offset), b => Assert.Equal(0x5A, b));
        Assert.All(target.Read(offset + bytes, target.SizeBytes - offset - bytes), b => Assert.Equal(0x5A, b));
    }

    [Theory]
    [InlineData(ExecutionMode.Deterministic)]
    [InlineData(ExecutionMode.Concurrent)]
    public void ScatteredPages_WriteFromOneLayout_ReadIntoAnother(ExecutionMode mode)
    {
        using Machine.Machine machine = Load("default", mode);
        BlockDevice disk = machine.BlockDevices["nvme0n1"];
        KernelBuffer scattered = KernelBuffer.Scattered(machine, 9);
        KernelBuffer contiguous = KernelBuffer.Contiguous(machine, 4);
        byte[] data = KernelBuffer.Random(8 * 4096, 7);
        scattered.Write(2048, data);

        KernelBuffer.Ok(disk.WriteDirect(0, scattered.Vecs(2048, data.Length)));
        KernelBuffer.Ok(disk.ReadDirect(0, contiguous.Vecs(0, data.Length)));

        Assert.Equal(KernelBuffer.Hash(data), KernelBuffer.Hash(contiguous.Read(0, data.Length)));
    }

    [Fact]
    public void SegmentsWithAGapBetweenThem_AreSplitIntoTwoRequests()
    {
        using Machine.Machine machine = Machine.Machine.Load("default");
        BlockDevice disk = machine.BlockDevices["nvme0n1"];
        KernelBuffer a = KernelBuffer.Scattered(machine, 2);
        byte[] data = KernelBuffer.Random(1024, 3);
        a.Write(0, data.AsSpan(0, 512));
        a.Write(4096, data.AsSpan(512));
        long before = disk.Queue.TagSet.HwQueues.Sum(h => h.Dispatched);

        // Two 512-byte segments at the start of two pages: the first does not end on the 4 KiB boundary.
        KernelBuffer.Ok(disk.WriteDirect(0, new[] { a.Vecs(0, 512)[0], a.Vecs(4096, 512)[0] }));

        Assert.Equal(2, disk.Queue.TagSet.HwQueues.Sum(h => h.Dispatched) - before);
        KernelBuffer back = KernelBuffer.Contiguous(machine, 0);
        KernelBuffer.Ok(disk.ReadDirect(0, back.Vecs(0, 1024)));
        Assert.Equal(data, back.Read(0, 1024));
    }

    [Theory]
    [InlineData(ExecutionMode.Deterministic)]
    [InlineData(ExecutionMode.Concurrent)]
    public void LargeIo_IsSplitAtMdts_AndSpreadOverEveryIoQueue(ExecutionMode mode)
    {
        using Machine.Machine machine = Load("default", mode);
        NvmeDev dev = machine.NvmeDrivers["nvme0"];
        BlockDevice disk = machine.BlockDevices["nvme0n1"];
        KernelBuffer buffer = KernelBuffer.Contiguous(machine, 8);
        long[] before = dev.IoQueues.Select(q => q.Completions).ToArray();

        KernelBuffer.Ok(disk.WriteDirect(0, buffer.Vecs(0, 1024 * 1024)));

        SettleReaps(dev);
        long[] completions = dev.IoQueues.Select((q, i) => q.Completions - before[i]).ToArray();
        Assert.Equal(1024 * 1024 / (dev.MaxHwSectors << 9), completions.Sum());
        Assert.All(completions, c => Assert.True(c > 0));
    }

    [Theory]
    [InlineData(ExecutionMode.Deterministic)]
    [InlineData(ExecutionMode.Concurrent)]
    public void ConcurrentWritersAndReaders_OnDisjointRanges_AllRoundTrip(ExecutionMode mode)
    {
        using Machine.Machine machine = Load("default", mode);
        BlockDevice disk = machine.BlockDevices["nvme0n1"];

        Parallel.For(0, 4, worker =>
        {
            KernelBuffer source = KernelBuffer.Contiguous(machine, 4);
            KernelBuffer target = KernelBuffer.Contiguous(machine, 4);
            for (int i = 0; i < 16; i++)
            {
                byte[] data = KernelBuffer.Random(65536, (worker * 100) + i);
                source.Write(0, data);
                long position = ((worker * 16) + i) * 65536L;
                KernelBuffer.Ok(disk.WriteDirect(position, source.Vecs(0, data.Length)));
                KernelBuffer.Ok(disk.ReadDirect(position, target.Vecs(0, data.Length)));
                Assert.Equal(KernelBuffer.Hash(data), KernelBuffer.Hash(target.Read(0, data.Length)));
            }
        });
    }

    [Theory]
    [InlineData(ExecutionMode.Deterministic)]
    [InlineData(ExecutionMode.Concurrent)]
    public void FileBackedNamespace_HoldsExactlyWhatWasWritten(ExecutionMode mode)
    {
        string path = Path.Combine(Path.GetTempPath(), $"p2pemu-nvme-driver-{Guid.NewGuid():N}.img");
        const int Size = 4 * 1024 * 1024;
        byte[] expected = new byte[Size];
        try
        {
            using (Machine.Machine machine = Build(DriverTopologies.Machine(IommuMode.Translate, true,
                Topo.RootPort("rp0", DriverTopologies.NvmeWithFile("nvme0", Size, path))), mode))
            {
                BlockDevice disk = machine.BlockDevices["nvme0n1"];
                KernelBuffer buffer = KernelBuffer.Contiguous(machine, 6);
                var random = new Random(11);
                for (int i = 0; i < 24; i++)
                {
                    int blocks = random.Next(1, 256);
                    int position = random.Next(0, (Size / 512) - blocks) * 512;
                    byte[] data = KernelBuffer.Random(blocks * 512, 1000 + i);
                    buffer.Write(512, data);
                    KernelBuffer.Ok(disk.WriteDirect(position, buffer.Vecs(512, data.Length)));
                    data.CopyTo(expected, position);
                }
            }

            byte[] file = File.ReadAllBytes(path);
            Assert.Equal(Size, file.Length);
            int first = file.AsSpan().CommonPrefixLength(expected);
            Assert.True(first == Size, $"first difference at byte {first}");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
