using System;
using P2pEmu.Dma.Block;
using P2pEmu.Machine.Bench;
using Xunit;

namespace P2pEmu.Integration.Tests.Allocation;

/// <summary>
/// The allocation targets of the performance suite, checked in every test run: once warmed up, the NVMe read path
/// (block layer, driver, controller, fabric, IOMMU with its flush queue) allocates nothing per I/O.
/// </summary>
public sealed class HotPathAllocationTests
{
    private const int Depth = 16;

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
}
