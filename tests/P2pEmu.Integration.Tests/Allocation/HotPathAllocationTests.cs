using System;
using System.Collections.Generic;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;
using P2pEmu.Machine.Bench;
using Xunit;

namespace P2pEmu.Integration.Tests.Allocation;

/// <summary>
/// The allocation targets of the performance suite, checked in every test run: once warmed up, the NVMe read path
/// (block layer, driver, controller, fabric, IOMMU with its flush queue) allocates nothing per I/O, nor does a
/// synchronous 1 MiB O_DIRECT call, which the block layer splits into requests, into host RAM or a peer's CMB.
/// </summary>
[Collection(ProcessWideStateCollection.Name)]
public sealed class HotPathAllocationTests
{
    private const int Depth = 16;
    private const uint OneMiB = 1 << 20;
    private const int Calls = 64;

    [Fact]
    public void RandomReadsAtQueueDepth_ThroughATranslatingIommu_AllocateNothingOnceWarm()
    {
        using Machine.Machine machine = Machine.Machine.Load("default");
        BlockDevice disk = machine.BlockDevices["nvme0n1"];
        var pages = new ulong[Depth];
        for (int i = 0; i < Depth; i++)
        {
            pages[i] = machine.Pages.AllocPage().Value;
        }

        Assert.True(machine.Dma.GetDevice(machine.Fabric["nvme0"]).UsesIommu);
        var runner = new QueueDepthRunner(disk, machine.P2pDma, pages, blockCount: 4096, seed: 7);

        // Warm-up: every flush-queue slot and pooled list reaches its size, every path is compiled.
        runner.Run(8192);
        long before = GC.GetAllocatedBytesForCurrentThread();
        runner.Run(4096);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
    }

    [Fact]
    public void OneMiBDirectReads_IntoAContiguousBuffer_AllocateNothingOnceWarm()
    {
        using Machine.Machine machine = Machine.Machine.Load("default");
        BlockDevice disk = machine.BlockDevices["nvme0n1"];
        ulong buffer = machine.Pages.AllocPages(HostPageAllocator.OrderForBytes(OneMiB)).Value;
        var vecs = new List<BioVec> { new(new PhysAddress(buffer), 0, OneMiB) };

        long allocated = AllocatedOverCalls(disk, position => disk.ReadDirect(position, vecs));

        Assert.Equal(0, allocated);
    }

    [Fact]
    public void OneMiBDirectReads_OverExtractedPages_AllocateNothingOnceWarm()
    {
        using Machine.Machine machine = Machine.Machine.Load("default");
        BlockDevice disk = machine.BlockDevices["nvme0n1"];
        var pages = new List<PhysAddress>();
        for (ulong i = 0; i < OneMiB / HostPageAllocator.PageSize; i++)
        {
            pages.Add(new PhysAddress(machine.Pages.AllocPage().Value));
        }

        long allocated = AllocatedOverCalls(disk, position => disk.ReadDirect(position, pages, 0, OneMiB));

        Assert.Equal(0, allocated);
    }

    [Fact]
    public void OneMiBDirectReads_IntoAPeerCmb_AllocateNothingOnceWarm()
    {
        using Machine.Machine machine = Machine.Machine.Load("default");
        BlockDevice disk = machine.BlockDevices["nvme0n1"];
        P2pMemory cmb = machine.P2pDma.PciAllocP2pmem(machine.Fabric["nvme1"], OneMiB)
            ?? throw new InvalidOperationException("nvme1 published no CMB p2pmem.");
        var vecs = new List<BioVec> { new(new PhysAddress(cmb.BusAddress), 0, OneMiB) };

        long allocated = AllocatedOverCalls(disk, position => disk.ReadDirect(position, vecs));

        Assert.Equal(0, allocated);
    }

    /// <summary>Bytes allocated by <see cref="Calls"/> successful 1 MiB reads at successive positions, after as many to warm up.</summary>
    private static long AllocatedOverCalls(BlockDevice disk, Func<long, Result<long>> read)
    {
        long position = 0;
        for (int i = 0; i < Calls; i++)
        {
            Assert.Equal(OneMiB, read(position).Value);
            position = (position + OneMiB) % (long)disk.SizeBytes;
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Calls; i++)
        {
            Result<long> done = read(position);
            if (!done.IsSuccess || done.Value != OneMiB)
            {
                Assert.Fail($"The read at {position} returned {done}.");
            }

            position = (position + OneMiB) % (long)disk.SizeBytes;
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
