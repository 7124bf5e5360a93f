using System.Collections.Generic;
using P2pEmu.Emulator.Devices.Nvme;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Topology;
using P2pEmu.Iommu.Hardware;
using P2pEmu.Testing;
using Xunit;
using static P2pEmu.Integration.Tests.Nvme.NvmeAdminTests;

namespace P2pEmu.Integration.Tests.Nvme;

public sealed class NvmeInterruptTests
{
    private const byte OpCreateIoCq = 0x05;
    private const byte OpGetFeatures = 0x0A;
    private const byte OpFlush = 0x00;
    private const ushort InvalidInterruptVector = 0x108;

    [Fact]
    public void MsiXCapability_DescribesTheTableInBar0_OneVectorPerQueuePair()
    {
        using var h = new NvmeHarness(0, Topo.MiB);

        Assert.NotEqual(0, h.Endpoint.MsiXCapabilityOffset);
        Assert.Equal(NvmeController.InterruptVectors, h.Endpoint.MsiXTableSize);
        Assert.Equal(NvmeController.MaxIoQueues + 1, h.Endpoint.MsiXTableSize);
        Assert.Equal((0, NvmeController.MsiXTableOffset), h.Endpoint.MsiXTableLocation);
        Assert.Equal((0, NvmeController.MsiXPbaOffset), h.Endpoint.MsiXPbaLocation);
        Assert.True(NvmeController.MsiXTableOffset >= 0x1000 + (8 * (NvmeController.MaxIoQueues + 1))); // after the doorbells
        Assert.True(NvmeController.MsiXPbaOffset + 16 <= NvmeController.Bar0SizeBytes);
    }

    [Fact]
    public void AdminCompletions_InterruptVector0_OncePerDoorbellBatch()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        MsiMsg admin = h.ProgramVector(0);
        h.SetMsiXControl(enable: true);
        h.Enable();

        AssertSuccess(h.AdminCommand(GetNumberOfQueues(1)));
        Assert.Equal(1, h.Fabric.Msi.Count(admin));

        h.Admin!.Push(GetNumberOfQueues(2));
        h.Admin.Push(GetNumberOfQueues(3));
        h.Admin.Push(GetNumberOfQueues(4));
        h.Admin.RingSubmission();

        Assert.Equal(2, h.Fabric.Msi.Count(admin)); // three completions, one batch, one message
        for (int i = 0; i < 3; i++)
        {
            Assert.True(h.Admin.TryPop(out NvmeCompletion done));
            AssertSuccess(done);
        }

        Assert.Equal(2, h.Fabric.Msi.Count(admin)); // CQ head doorbells post nothing, so they interrupt nothing
        Assert.Equal(0, h.Fabric.Msi.SpuriousCount);
    }

    [Fact]
    public void IoCompletionQueues_EachInterruptTheirOwnVector()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        MsiMsg admin = h.ProgramVector(0);
        MsiMsg one = h.ProgramVector(1);
        MsiMsg two = h.ProgramVector(2);
        h.SetMsiXControl(enable: true);
        h.Enable();
        HostQueue q1 = h.CreateIoQueuePair(1, 16, interruptVector: 1);
        HostQueue q2 = h.CreateIoQueuePair(2, 16, NvmeHarness.IoSqOffset + 0x2000, NvmeHarness.IoCqOffset + 0x2000, interruptVector: 2);
        long adminBefore = h.Fabric.Msi.Count(admin);

        AssertSuccess(q1.Submit(Flush(1)));
        AssertSuccess(q1.Submit(Flush(2)));
        AssertSuccess(q2.Submit(Flush(3)));

        Assert.Equal(2, h.Fabric.Msi.Count(one));
        Assert.Equal(1, h.Fabric.Msi.Count(two));
        Assert.Equal(adminBefore, h.Fabric.Msi.Count(admin));
        Assert.Equal(4, adminBefore); // two queue pairs: four admin commands, each in its own batch
    }

    [Fact]
    public void CompletionQueueWithoutIen_IsPostedButRaisesNoInterrupt()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        MsiMsg one = h.ProgramVector(1);
        h.SetMsiXControl(enable: true);
        h.Enable();
        AssertSuccess(h.AdminCommand(new NvmeCommand
        {
            Opcode = OpCreateIoCq,
            Prp1 = h.Bus(NvmeHarness.IoCqOffset),
            Cdw10 = 1u | (15u << 16),
            Cdw11 = 1u | (1u << 16), // PC, IV 1, IEN clear
        }));
        AssertSuccess(h.AdminCommand(new NvmeCommand { Opcode = 0x01, Prp1 = h.Bus(NvmeHarness.IoSqOffset), Cdw10 = 1u | (15u << 16), Cdw11 = 1u | (1u << 16) }));
        var io = new HostQueue(h, 1, NvmeHarness.IoSqOffset, NvmeHarness.IoCqOffset, 16);

        AssertSuccess(io.Submit(Flush(1)));

        Assert.Equal(0, h.Fabric.Msi.Count(one));
        Assert.Equal(0, h.Controller.MsiX.MessagesSent); // the admin CQ's vector 0 is still masked from reset
        Assert.False(h.Controller.MsiX.IsPending(1));
        Assert.True(h.Controller.MsiX.IsPending(0));
    }

    [Fact]
    public void CreateIoCq_VectorBeyondTheTable_OrNonZeroWithoutMsiX_IsInvalidInterruptVector()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();

        NvmeCompletion withoutMsiX = h.AdminCommand(CreateCq(1, vector: 1));
        NvmeErrorLogEntry logged = h.NewestError();
        AssertSuccess(h.AdminCommand(CreateCq(1, vector: 0)));
        h.SetMsiXControl(enable: true);
        NvmeCompletion beyond = h.AdminCommand(CreateCq(2, vector: NvmeController.InterruptVectors));
        NvmeCompletion last = h.AdminCommand(CreateCq(3, vector: NvmeController.InterruptVectors - 1));

        AssertStatus(InvalidInterruptVector, withoutMsiX);
        Assert.True(withoutMsiX.DoNotRetry);
        Assert.Equal(46, logged.ParameterErrorLocation);
        AssertStatus(InvalidInterruptVector, beyond);
        AssertSuccess(last);
    }

    [Fact]
    public void MaskedVector_CompletionSetsItsPendingBit_AndUnmaskingDeliversIt()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.ProgramVector(0);
        MsiMsg one = h.ProgramVector(1, masked: true);
        h.SetMsiXControl(enable: true);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16, interruptVector: 1);

        AssertSuccess(io.Submit(Flush(1)));
        AssertSuccess(io.Submit(Flush(2)));

        Assert.Equal(0, h.Fabric.Msi.Count(one));
        Assert.Equal(1u << 1, h.ReadPendingBits(0));
        h.MaskVector(1, masked: false);
        Assert.Equal(1, h.Fabric.Msi.Count(one));
        Assert.Equal(0u, h.ReadPendingBits(0));
    }

    [Fact]
    public void FunctionMask_PendsEveryVector_ClearingItDeliversThem()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        MsiMsg admin = h.ProgramVector(0);
        MsiMsg vector64 = h.ProgramVector(64);
        h.SetMsiXControl(enable: true);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(64, 16, interruptVector: 64);
        long adminBefore = h.Fabric.Msi.Count(admin);
        h.SetMsiXControl(enable: true, functionMask: true);

        AssertSuccess(io.Submit(Flush(1)));
        AssertSuccess(h.AdminCommand(GetNumberOfQueues(2)));

        Assert.Equal(0, h.Fabric.Msi.Count(vector64));
        Assert.Equal(adminBefore, h.Fabric.Msi.Count(admin));
        Assert.Equal(1u, h.ReadPendingBits(0)); // vector 0
        Assert.Equal(1u, h.ReadPendingBits(2)); // vector 64 in the second QWORD
        h.SetMsiXControl(enable: true);
        Assert.Equal(1, h.Fabric.Msi.Count(vector64));
        Assert.Equal(adminBefore + 1, h.Fabric.Msi.Count(admin));
        Assert.Equal(0u, h.ReadPendingBits(0) | h.ReadPendingBits(2));
    }

    [Fact]
    public void MsiXDisabled_RaisesNoInterrupt_AndPollingStillWorks()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        MsiMsg admin = h.ProgramVector(0);
        MsiMsg one = h.ProgramVector(1);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);

        AssertSuccess(io.Submit(Flush(1)));

        Assert.Equal(0, h.Fabric.Msi.Count(admin));
        Assert.Equal(0, h.Fabric.Msi.Count(one));
        Assert.Equal(0, h.Fabric.Msi.SpuriousCount);
        Assert.Equal(0, h.Controller.MsiX.MessagesSent);
        Assert.Equal(0u, h.ReadPendingBits(0)); // nothing pends while MSI-X is off
    }

    [Fact]
    public void IntmsMaskingEveryVector_DoesNotStopMsiX_AndStillReadsBack()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        MsiMsg admin = h.ProgramVector(0);
        h.SetMsiXControl(enable: true);
        h.Enable();
        h.Write32(NvmeRegister.Intms, uint.MaxValue);

        AssertSuccess(h.AdminCommand(GetNumberOfQueues(1)));

        Assert.Equal(1, h.Fabric.Msi.Count(admin));
        Assert.Equal(uint.MaxValue, h.Read32(NvmeRegister.Intms));
        h.Write32(NvmeRegister.Intmc, 0xF);
        Assert.Equal(0xFFFF_FFF0u, h.Read32(NvmeRegister.Intmc));
    }

    [Fact]
    public void WithTheIommuTranslating_InterruptsAreDeliveredUntranslated()
    {
        using var h = new NvmeHarness(0, IommuMode.Translate, Topo.MiB);
        IommuUnit iommu = h.InstallIommu(16 * Topo.MiB); // RAM only: the MSI window has no mapping
        MsiMsg admin = h.ProgramVector(0);
        MsiMsg one = h.ProgramVector(1);
        h.SetMsiXControl(enable: true);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16, interruptVector: 1);
        long missesBefore = iommu.IoTlb.Misses;

        AssertSuccess(io.Submit(Flush(1)));

        Assert.Equal(1, h.Fabric.Msi.Count(one));
        Assert.Equal(2, h.Fabric.Msi.Count(admin));
        Assert.Equal(0, iommu.Faults.TotalCount);
        Assert.True(iommu.IoTlb.Hits + iommu.IoTlb.Misses > 0 && missesBefore > 0); // queue DMA was translated
    }

    [Fact]
    public void TableEntryWithAWrongAddress_IsASpuriousInterrupt_AndTheControllerCarriesOn()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        MsiMsg one = h.ProgramVector(1);
        h.Write32(NvmeController.MsiXTableOffset + 16, one.AddressLo | (0x0F << 12)); // destination APIC 15: nothing allocated there
        h.SetMsiXControl(enable: true);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16, interruptVector: 1);

        AssertSuccess(io.Submit(Flush(1)));

        Assert.Equal(0, h.Fabric.Msi.Count(one));
        Assert.Equal(1, h.Fabric.Msi.SpuriousCount);
        Assert.Equal(one.AddressLo | (0x0FUL << 12), h.Fabric.Msi.SpuriousMessages[0].Address);
        Assert.Equal(one.Data, h.Fabric.Msi.SpuriousMessages[0].Data);
        Assert.True(h.Controller.IsReady);
        Assert.False(h.Controller.IsFatal);
    }

    [Fact]
    public void InterruptHandlerThatSubmitsMoreWork_IsServedInTheSameRun_WithoutRecursion()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.ProgramVector(0);
        MsiMsg one = h.ProgramVector(1);
        h.SetMsiXControl(enable: true);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16, interruptVector: 1);
        var cids = new List<ushort>();
        h.Fabric.Msi.SetHandler(one, _ =>
        {
            // A driver's interrupt handler: reap completions, then submit the next command from the handler.
            while (io.TryPop(out NvmeCompletion done))
            {
                cids.Add(done.Cid);
            }

            if (cids.Count < 40)
            {
                io.Push(Flush((ushort)cids.Count));
                io.RingSubmission();
            }
        });

        io.Push(Flush(0));
        io.RingSubmission();

        Assert.Equal(40, cids.Count);
        Assert.Equal(40, h.Fabric.Msi.Count(one));
        for (int i = 0; i < 40; i++)
        {
            Assert.Equal(i, cids[i]);
        }
    }

    private static NvmeCommand Flush(ushort cid) => new() { Opcode = OpFlush, Cid = cid, Nsid = 1 };

    private static NvmeCommand GetNumberOfQueues(ushort cid) => new() { Opcode = OpGetFeatures, Cid = cid, Cdw10 = 7 };

    private static NvmeCommand CreateCq(ushort qid, int vector) => new()
    {
        Opcode = OpCreateIoCq,
        Prp1 = NvmeHarness.IoCqOffset + ((ulong)qid * 0x1000),
        Cdw10 = qid | (15u << 16),
        Cdw11 = 1u | 2u | ((uint)vector << 16),
    };
}
