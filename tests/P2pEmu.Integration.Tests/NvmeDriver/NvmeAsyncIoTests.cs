using System;
using System.Linq;
using System.Numerics;
using System.Runtime.CompilerServices;
using P2pEmu.Dma.Block;
using P2pEmu.Drivers.Nvme;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Topology;
using P2pEmu.Iommu.Hardware;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Integration.Tests.NvmeDriver;

/// <summary>
/// The NVMe driver under the block layer's asynchronous path: bios in flight at once, polled, batched by a plug into one
/// SQ doorbell, and the single-segment mapping (nvme_pci_setup_data_simple) undone at completion.
/// </summary>
public sealed class NvmeAsyncIoTests
{
    private const uint SqTailDoorbell = 0x1008; // queue 1

    [Fact]
    public void PluggedReads_GoOutWithOneDoorbell_AndEachLandsInItsPage()
    {
        using var machine = new InterposedMachine(DriverTopologies.Single(0, IommuMode.Translate, 16 * Topo.MiB));
        NvmeDev dev = machine.Driver(new NvmeDriverOptions { IoQueueCount = 1 }).Probe(machine.Fabric["nvme0"]).Value;
        BlockDevice disk = dev.Namespaces[0].Disk;
        byte[] data = WriteRandomBlocks(machine, disk, 8, 11);
        StrongBox<int> doorbells = CountSqDoorbells(machine);
        ulong[] pages = Enumerable.Range(0, 8).Select(_ => machine.Pages.AllocPage().Value).ToArray();
        Bio[] bios = new Bio[8];
        var plug = new BlkPlug();
        plug.Start();
        for (int i = 0; i < bios.Length; i++)
        {
            bios[i] = new Bio(machine.P2p, ReqOp.Read, (ulong)(7 - i) * 8); // block 7 into page 0, block 6 into page 1, …
            bios[i].BioAddPage(new PhysAddress(pages[i]), 4096, 0);
            disk.SubmitBio(bios[i]);
        }

        Assert.Equal(0, doorbells.Value);
        plug.Finish();
        Assert.Equal(1, doorbells.Value);
        while (!bios.All(b => b.IsDone))
        {
            disk.BioPoll(bios[0]);
        }

        for (int i = 0; i < bios.Length; i++)
        {
            Assert.Equal(BlkStatus.Ok, bios[i].Status);
            byte[] landed = new byte[4096];
            machine.Fabric.TryHostRead(pages[i], landed);
            Assert.Equal(data.AsSpan((7 - i) * 4096, 4096).ToArray(), landed);
        }
    }

    [Fact]
    public void APluggedBatchWithARequestThatCannotBeMapped_SendsTheRestWithOneDoorbell_AndFailsThatOneAlone()
    {
        // nvme_queue_rqs: the batch is prepared first; the request whose P2P page the host bridge cannot reach
        // (NOT_SUPPORTED) stays behind for nvme_queue_rq, which fails it, while the others share one SQ doorbell.
        // Sent one by one instead, the refusal in the middle would commit the first read with a doorbell of its own.
        using var machine = new InterposedMachine(DriverTopologies.TwoRootPortsNoP2p());
        NvmePciDriver driver = machine.Driver(new NvmeDriverOptions { IoQueueCount = 1 });
        NvmeDev dev = driver.Probe(machine.Fabric["nvme0"]).Value;
        Assert.True(driver.Probe(machine.Fabric["nvme1"]).IsSuccess); // publishes nvme1's CMB as p2pmem
        BlockDevice disk = dev.Namespaces[0].Disk;
        byte[] data = WriteRandomBlocks(machine, disk, 3, 12);
        StrongBox<int> doorbells = CountSqDoorbells(machine);
        ulong cmb = machine.P2p.PciAllocP2pmem(machine.Fabric["nvme1"], 4096)!.BusAddress;
        ulong[] targets = { machine.Pages.AllocPage().Value, cmb, machine.Pages.AllocPage().Value };
        Bio[] bios = new Bio[3];
        var plug = new BlkPlug();
        plug.Start();
        for (int i = 0; i < bios.Length; i++)
        {
            bios[i] = new Bio(machine.P2p, ReqOp.Read, (ulong)i * 8);
            Assert.Equal(4096u, bios[i].BioAddPage(new PhysAddress(targets[i]), 4096, 0));
            disk.SubmitBio(bios[i]);
        }

        plug.Finish();

        Assert.Equal(1, doorbells.Value);
        Assert.Equal((true, BlkStatus.Inval), (bios[1].IsDone, bios[1].Status));
        while (!bios[0].IsDone || !bios[2].IsDone)
        {
            disk.BioPoll(bios[0]);
        }

        foreach (int i in new[] { 0, 2 })
        {
            Assert.Equal(BlkStatus.Ok, bios[i].Status);
            byte[] landed = new byte[4096];
            machine.Fabric.TryHostRead(targets[i], landed);
            Assert.Equal(data.AsSpan(i * 4096, 4096).ToArray(), landed);
        }
    }

    [Fact]
    public void SingleSegmentReads_AreMappedThroughTheIommu_AndUnmappedWhenTheyComplete()
    {
        // Poll queues: the completion waits for BioWait, so the mapping can be seen while the read is in flight (an
        // interrupt-driven queue would complete and unmap it inside the doorbell write of a deterministic machine).
        using Machine.Machine machine = DriverTopologies.BuildWith(DriverTopologies.Single(0, IommuMode.Translate, 16 * Topo.MiB), new NvmeDriverOptions { IoQueueCount = 0, PollQueues = 4 });
        NvmeDev dev = machine.NvmeDrivers["nvme0"];
        BlockDevice disk = machine.BlockDevices["nvme0n1"];
        IommuDomain domain = dev.DmaDev.IommuDomain!;
        ulong mappedAtRest = domain.MappedBytes;
        long misses = machine.Iommus[0].IoTlb.Misses;
        ulong page = machine.Pages.AllocPage().Value;
        var bio = new Bio(machine.P2pDma, ReqOp.Read, 0);

        for (int i = 0; i < 4; i++)
        {
            bio.Reset(ReqOp.Read, (ulong)i * 8);
            bio.BioAddPage(new PhysAddress(page), 2048, 1024); // one segment across no page boundary
            disk.SubmitBio(bio);
            Assert.True(domain.MappedBytes > mappedAtRest);
            Assert.Equal(BlkStatus.Ok, disk.Queue.BioWait(bio));
            Assert.Equal(mappedAtRest, domain.MappedBytes);
        }

        Assert.True(machine.Iommus[0].IoTlb.Misses - misses >= 4); // the device's DMA went through the IOMMU
        Assert.Equal(0, machine.Iommus[0].Faults.TotalCount);
    }

    [Fact]
    public void PolledReadsWithACompletionBatch_StayMappedUntilItCompletes_ThenEndTogether()
    {
        // nvme_poll with io_uring's io_comp_batch: nvme_handle_cqe adds each success to the batch, and only
        // nvme_pci_complete_batch, run by the poller after the poll, unmaps the data and ends the requests.
        using Machine.Machine machine = DriverTopologies.BuildWith(DriverTopologies.Single(0, IommuMode.Translate, 16 * Topo.MiB), new NvmeDriverOptions { IoQueueCount = 0, PollQueues = 1 });
        BlockDevice disk = machine.BlockDevices["nvme0n1"];
        IommuDomain domain = machine.NvmeDrivers["nvme0"].DmaDev.IommuDomain!;
        byte[] data = KernelBuffer.Random(8 * 4096, 13);
        ulong source = machine.Pages.AllocPages(3).Value;
        Assert.True(machine.Fabric.TryHostWrite(source, data));
        var write = new Bio(machine.P2pDma, ReqOp.Write, 0);
        write.BioAddPage(new PhysAddress(source), (uint)data.Length, 0);
        Assert.Equal(BlkStatus.Ok, disk.SubmitBioWait(write));
        ulong mappedAtRest = domain.MappedBytes;
        ulong[] pages = Enumerable.Range(0, 8).Select(_ => machine.Pages.AllocPage().Value).ToArray();
        Bio[] bios = new Bio[8];
        var plug = new BlkPlug();
        plug.Start();
        for (int i = 0; i < bios.Length; i++)
        {
            bios[i] = new Bio(machine.P2pDma, ReqOp.Read, (ulong)i * 8);
            bios[i].BioAddPage(new PhysAddress(pages[i]), 4096, 0);
            disk.SubmitBio(bios[i]);
        }

        plug.Finish();
        var iob = new IoCompBatch();

        Assert.Equal(8, disk.BioPoll(bios[0], iob));

        Assert.Equal(8, iob.Requests.Count);
        Assert.DoesNotContain(bios, b => b.IsDone);
        Assert.Equal(mappedAtRest + (8 * 4096), domain.MappedBytes);
        iob.CompleteBatch();
        Assert.Equal(mappedAtRest, domain.MappedBytes);
        for (int i = 0; i < bios.Length; i++)
        {
            Assert.Equal((true, BlkStatus.Ok), (bios[i].IsDone, bios[i].Status));
            byte[] landed = new byte[4096];
            machine.Fabric.TryHostRead(pages[i], landed);
            Assert.Equal(data.AsSpan(i * 4096, 4096).ToArray(), landed);
        }
    }

    /// <summary>Random bytes written to the first <paramref name="blocks"/> 4 KiB blocks of the disk, returned for checking.</summary>
    private static byte[] WriteRandomBlocks(InterposedMachine machine, BlockDevice disk, int blocks, int seed)
    {
        byte[] data = KernelBuffer.Random(blocks * 4096, seed);
        int order = blocks <= 1 ? 0 : 32 - BitOperations.LeadingZeroCount((uint)(blocks - 1)); // 2^order pages hold them
        ulong source = machine.Pages.AllocPages(order).Value;
        Assert.True(machine.Fabric.TryHostWrite(source, data));
        Bio write = new(machine.P2p, ReqOp.Write, 0);
        write.BioAddPage(new PhysAddress(source), (uint)data.Length, 0);
        Assert.Equal(BlkStatus.Ok, disk.SubmitBioWait(write));
        return data;
    }

    /// <summary>Counts nvme0's writes to the I/O SQ's tail doorbell from now on (the writes still reach the controller).</summary>
    private static StrongBox<int> CountSqDoorbells(InterposedMachine machine)
    {
        var doorbells = new StrongBox<int>();
        machine.Interposers["nvme0"].DropWrite = (offset, _) =>
        {
            doorbells.Value += offset == SqTailDoorbell ? 1 : 0;
            return false;
        };
        return doorbells;
    }
}
