using System;
using System.Collections.Generic;
using System.Linq;
using P2pEmu.Dma.Block;
using P2pEmu.Drivers.Nvme;
using P2pEmu.Emulator.Execution;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using Xunit;

namespace P2pEmu.Integration.Tests.NvmeDriver;

/// <summary>
/// The driver's MSI-X interrupts (Linux <c>pci_alloc_irq_vectors</c>, <c>nvme_irq</c>): a vector for the admin queue
/// and one per I/O queue, programmed through BAR0 and completed by the handler; poll queues and the fallback to
/// polling without MSI-X.
/// </summary>
public sealed class NvmeIrqTests
{
    private static uint Read32(PcieFabric fabric, ulong address)
    {
        byte[] bytes = new byte[4];
        fabric.TryHostRead(address, bytes);
        return BitConverter.ToUInt32(bytes);
    }

    private static void Write32(PcieFabric fabric, ulong address, uint value) => fabric.TryHostWrite(address, BitConverter.GetBytes(value));

    private static ulong TableEntry(PciEndpoint function, int entry) =>
        function.GetBar(function.MsiXTableLocation.Bar)!.Address + function.MsiXTableLocation.Offset + ((ulong)entry * MsiXConfig.EntrySize);

    private static ulong Pba(PciEndpoint function) => function.GetBar(function.MsiXPbaLocation.Bar)!.Address + function.MsiXPbaLocation.Offset;

    private static BlkMqHwCtx HctxOf(NvmeDev dev, NvmeQueue queue) => dev.TagSet!.HwQueues.Single(h => ReferenceEquals(h.DriverData, queue));

    private static Bio HostBio(Machine.Machine machine, ReqOp op, ulong sector, KernelBuffer buffer, int bytes)
    {
        var bio = new Bio(machine.P2pDma, op, sector);
        foreach (BioVec vec in buffer.Vecs(0, bytes))
        {
            bio.BioAddPage(vec.Page, vec.Length, vec.Offset);
        }

        return bio;
    }

    [Fact]
    public void Probe_ProgramsAVectorForTheAdminQueueAndEachIoQueue_ThroughBar0_AndEnablesMsiX()
    {
        using Machine.Machine machine = Machine.Machine.Load("default");
        NvmeDev dev = machine.NvmeDrivers["nvme0"];
        var function = (PciEndpoint)machine.Fabric["nvme0"];
        IReadOnlyList<MsiMsg> irqs = dev.IrqVectors;

        Assert.True(function.MsiXEnabled);
        Assert.False(function.MsiXFunctionMasked);
        Assert.Equal(1 + dev.IoQueues.Count, irqs.Count);
        Assert.Equal(irqs.Count, irqs.Distinct().Count());
        Assert.Equal(0, dev.AdminQueue!.CqVector);
        Assert.All(dev.IoQueues, q => Assert.Equal(q.Qid, q.CqVector));
        Assert.All(dev.IoQueues, q => Assert.Equal(HctxType.Default, HctxOf(dev, q).Type));
        for (int entry = 0; entry < irqs.Count; entry++)
        {
            ulong at = TableEntry(function, entry);
            Assert.Equal(irqs[entry].AddressLo, Read32(machine.Fabric, at + MsiXConfig.EntryLowerAddress));
            Assert.Equal(irqs[entry].AddressHi, Read32(machine.Fabric, at + MsiXConfig.EntryUpperAddress));
            Assert.Equal(irqs[entry].Data, Read32(machine.Fabric, at + MsiXConfig.EntryData));
            Assert.Equal(0u, Read32(machine.Fabric, at + MsiXConfig.EntryVectorControl));
        }

        Assert.Contains("nvme nvme0: 4/0/0 default/read/poll queues", dev.KernelLog);
        Assert.True(machine.Fabric.Msi.Count(irqs[0]) > 0); // the admin commands of the probe completed by interrupt
    }

    [Theory]
    [InlineData(ExecutionMode.Deterministic)]
    [InlineData(ExecutionMode.Concurrent)]
    public void Io_CompletesByTheInterruptOfItsQueue_CountedPerVector(ExecutionMode mode)
    {
        using Machine.Machine machine = DriverTopologies.BuildWith(DriverTopologies.Single(0, IommuMode.Translate, 16 * DriverTopologies.MiB), new NvmeDriverOptions(), mode);
        NvmeDev dev = machine.NvmeDrivers["nvme0"];
        MsiController msi = machine.Fabric.Msi;
        BlockDevice disk = dev.Namespaces[0].Disk;
        KernelBuffer buffer = KernelBuffer.Contiguous(machine, 0);
        long[] interrupts = dev.IoQueues.Select(q => msi.Count(dev.IrqVectors[q.CqVector])).ToArray();
        long[] completions = dev.IoQueues.Select(q => q.Completions).ToArray();

        for (int i = 0; i < 4 * dev.IoQueues.Count; i++)
        {
            KernelBuffer.Ok(disk.WriteDirect(i * 4096L, buffer.Vecs(0, 4096)));
        }

        NvmeReadWriteTests.SettleReaps(dev);
        for (int q = 0; q < dev.IoQueues.Count; q++)
        {
            long taken = msi.Count(dev.IrqVectors[dev.IoQueues[q].CqVector]) - interrupts[q];
            long reaped = dev.IoQueues[q].Completions - completions[q];
            Assert.Equal(4, reaped);
            if (mode == ExecutionMode.Deterministic)
            {
                Assert.Equal(reaped, taken); // one request at a time: one doorbell, one round, one interrupt each
            }
            else
            {
                Assert.InRange(taken, 1, reaped); // the controller's thread may take several doorbells in one round
            }
        }

        Assert.Equal(0, msi.SpuriousCount);
    }

    [Fact]
    public void MaskedVector_TheCompletionPends_UnmaskingDeliversIt_AndTheHandlerEndsTheRequest()
    {
        using Machine.Machine machine = DriverTopologies.BuildWith(DriverTopologies.Single(), new NvmeDriverOptions { IoQueueCount = 1 });
        NvmeDev dev = machine.NvmeDrivers["nvme0"];
        var function = (PciEndpoint)machine.Fabric["nvme0"];
        NvmeQueue queue = dev.IoQueues[0];
        MsiMsg irq = dev.IrqVectors[queue.CqVector];
        BlockDevice disk = dev.Namespaces[0].Disk;
        KernelBuffer buffer = KernelBuffer.Contiguous(machine, 1);
        byte[] data = KernelBuffer.Random(8192, 31);
        buffer.Write(0, data);
        KernelBuffer.Ok(disk.WriteDirect(0, buffer.Vecs(0, 8192)));
        buffer.Fill(0);
        long before = machine.Fabric.Msi.Count(irq);
        ulong control = TableEntry(function, queue.CqVector) + MsiXConfig.EntryVectorControl;

        Write32(machine.Fabric, control, MsiXConfig.EntryCtrlMaskBit);
        var inflight = new List<Request>();
        Assert.Equal(BlkStatus.Ok, disk.Queue.SubmitBio(HostBio(machine, ReqOp.Read, 0, buffer, 8192), inflight));

        Request request = Assert.Single(inflight);
        Assert.False(request.IsComplete);
        Assert.Equal(1u << queue.CqVector, Read32(machine.Fabric, Pba(function)));
        Assert.Equal(before, machine.Fabric.Msi.Count(irq));

        Write32(machine.Fabric, control, 0);

        Assert.True(request.IsComplete);
        Assert.Equal(BlkStatus.Ok, request.Status);
        Assert.Equal(0u, Read32(machine.Fabric, Pba(function)));
        Assert.Equal(before + 1, machine.Fabric.Msi.Count(irq));
        Assert.Equal(data, buffer.Read(0, 8192));
    }

    [Theory]
    [InlineData(ExecutionMode.Deterministic)]
    [InlineData(ExecutionMode.Concurrent)]
    public void PollQueues_HaveNoVector_AndTheirIoCompletesByPolling(ExecutionMode mode)
    {
        using Machine.Machine machine = DriverTopologies.BuildWith(DriverTopologies.Single(), new NvmeDriverOptions { IoQueueCount = 1, PollQueues = 2 }, mode);
        NvmeDev dev = machine.NvmeDrivers["nvme0"];
        BlockDevice disk = dev.Namespaces[0].Disk;
        KernelBuffer source = KernelBuffer.Contiguous(machine, 5);
        KernelBuffer target = KernelBuffer.Contiguous(machine, 5);
        byte[] data = KernelBuffer.Random(128 * 1024, 32);
        source.Write(0, data);

        Assert.Equal(3, dev.IoQueues.Count);
        Assert.Equal(2, dev.IrqVectors.Count);
        Assert.Equal(1, dev.IoQueues[0].CqVector);
        Assert.All(dev.IoQueues.Skip(1), q => Assert.True(q.IsPolled && HctxOf(dev, q).Type == HctxType.Poll));
        Assert.Contains("nvme nvme0: 1/0/2 default/read/poll queues", dev.KernelLog);
        long interrupts = machine.Fabric.Msi.Count(dev.IrqVectors[1]);

        for (int i = 0; i < 6; i++)
        {
            KernelBuffer.Ok(disk.WriteDirect(i * 128 * 1024L, source.Vecs(0, data.Length)));
            target.Fill(0);
            KernelBuffer.Ok(disk.ReadDirect(i * 128 * 1024L, target.Vecs(0, data.Length)));
            Assert.Equal(KernelBuffer.Hash(data), KernelBuffer.Hash(target.Read(0, data.Length)));
        }

        NvmeReadWriteTests.SettleReaps(dev);
        Assert.All(dev.IoQueues, q => Assert.True(q.Completions >= 4));
        Assert.InRange(machine.Fabric.Msi.Count(dev.IrqVectors[1]) - interrupts, 1, dev.IoQueues[0].Completions);
    }

    [Fact]
    public void NoInterruptDrivenQueuesAsked_EveryIoQueueIsPolled_OnlyTheAdminQueueHasAVector()
    {
        using Machine.Machine machine = DriverTopologies.BuildWith(DriverTopologies.Single(), new NvmeDriverOptions { IoQueueCount = 0, PollQueues = 2 });
        NvmeDev dev = machine.NvmeDrivers["nvme0"];
        KernelBuffer buffer = KernelBuffer.Contiguous(machine, 0);
        long delivered = machine.Fabric.Msi.DeliveredCount;

        Assert.Equal(2, dev.IoQueues.Count);
        Assert.Single(dev.IrqVectors);
        Assert.All(dev.IoQueues, q => Assert.True(q.IsPolled));
        for (int i = 0; i < 4; i++)
        {
            KernelBuffer.Ok(dev.Namespaces[0].Disk.WriteDirect(i * 4096L, buffer.Vecs(0, 4096)));
        }

        Assert.Equal(delivered, machine.Fabric.Msi.DeliveredCount);
    }

    [Fact]
    public void FunctionWithoutMsiX_FallsBackToPollingEveryQueue_AdminIncluded()
    {
        using var machine = new InterposedMachine(DriverTopologies.Single(), msiX: false);
        NvmeDev dev = machine.Driver().Probe(machine.Fabric["nvme0"]).Value;
        KernelBuffer buffer = KernelBuffer.Contiguous(machine.Pages, machine.Fabric, 1);
        byte[] data = KernelBuffer.Random(8192, 33);
        buffer.Write(0, data);

        Assert.Empty(dev.IrqVectors);
        Assert.True(dev.AdminQueue!.IsPolled);
        Assert.All(dev.IoQueues, q => Assert.True(q.IsPolled));
        Assert.Contains("nvme nvme0: no MSI-X: completions are polled", dev.KernelLog);
        Assert.Contains("nvme nvme0: 0/0/4 default/read/poll queues", dev.KernelLog);
        BlockDevice disk = dev.Namespaces[0].Disk;
        KernelBuffer.Ok(disk.WriteDirect(0, buffer.Vecs(0, 8192)));
        buffer.Fill(0);
        KernelBuffer.Ok(disk.ReadDirect(0, buffer.Vecs(0, 8192)));
        Assert.Equal(data, buffer.Read(0, 8192));
        Assert.Equal(0, machine.Fabric.Msi.DeliveredCount);
    }

    [Fact]
    public void Remove_MasksTheEntries_DisablesMsiX_AndFreesTheVectors()
    {
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.Single());
        NvmeDev dev = machine.NvmeDrivers["nvme0"];
        var function = (PciEndpoint)machine.Fabric["nvme0"];
        IReadOnlyList<MsiMsg> irqs = dev.IrqVectors;
        Assert.True(machine.Fabric.Msi.Count(irqs[0]) > 0);

        machine.NvmeDriver.Remove(dev);

        Assert.False(function.MsiXEnabled);
        Assert.Empty(dev.IrqVectors);
        Assert.All(irqs, irq => Assert.Equal(0, machine.Fabric.Msi.Count(irq))); // freed: no count kept
        Assert.Equal(MsiXConfig.EntryCtrlMaskBit, Read32(machine.Fabric, TableEntry(function, 1) + MsiXConfig.EntryVectorControl));
        Assert.Equal(NvmeCtrlState.Deleted, dev.State);
    }
}
