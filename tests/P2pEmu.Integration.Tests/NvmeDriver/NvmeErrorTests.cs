using System;
using P2pEmu.Dma.Block;
using P2pEmu.Drivers.Nvme;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Integration.Tests.NvmeDriver;

/// <summary>
/// Every error the driver can meet from this controller: NVMe statuses (through passthrough commands, which are
/// never retried) mapped as Linux's <c>nvme_error_status</c> and <c>blk_status_to_errno</c> map them, a controller
/// that fails (CSTS.CFS), a command that never completes.
/// </summary>
public sealed class NvmeErrorTests
{
    private static Bio HostBio(Machine.Machine machine, ReqOp op, int bytes)
    {
        var bio = new Bio(machine.P2pDma, op, 0);
        ulong page = machine.Pages.AllocPages(HostPageAllocator.OrderForBytes((ulong)bytes)).Value;
        bio.BioAddPage(new PhysAddress(page), (uint)bytes, 0);
        return bio;
    }

    [Fact]
    public void LbaOutOfRange_IsTargetError_Eremoteio_WithDnr()
    {
        using Machine.Machine machine = Machine.Machine.Load("default");
        NvmeNs ns = machine.NvmeDrivers["nvme0"].Namespaces[0];

        NvmePassthroughResult result = ns.SubmitIo(false, ns.Id.Nsze, 1, HostBio(machine, ReqOp.Read, 512));

        Assert.Equal(NvmeStatusCode.LbaRange, result.Code);
        Assert.True(result.DoNotRetry);
        Assert.Equal(BlkStatus.Target, result.BlkStatus);
        Assert.Equal(Errno.EREMOTEIO, result.Errno);
    }

    [Theory]
    [InlineData(0x7E, 1u, 0u)]        // an opcode the controller does not know
    [InlineData(0x02, 99u, 0u)]       // Read on a namespace that does not exist
    [InlineData(0x02, 1u, 511u)]      // Read of 512 blocks: more than MDTS
    public void CommandsTheControllerRejects_AreNotSupported_Eopnotsupp(byte opcode, uint nsid, uint blocksZeroBased)
    {
        using Machine.Machine machine = Machine.Machine.Load("default");
        NvmeNs ns = machine.NvmeDrivers["nvme0"].Namespaces[0];

        NvmePassthroughResult result = ns.SubmitIoCommand(new NvmeCommand { Opcode = opcode, Nsid = nsid, Cdw12 = blocksZeroBased }, HostBio(machine, ReqOp.Read, 512));

        Assert.Contains(result.Code, new[] { NvmeStatusCode.InvalidOpcode, NvmeStatusCode.InvalidNs, NvmeStatusCode.InvalidField });
        Assert.True(result.DoNotRetry);
        Assert.Equal(BlkStatus.NotSupp, result.BlkStatus);
        Assert.Equal(Errno.EOPNOTSUPP, result.Errno);
    }

    [Fact]
    public void PassthroughDataShorterThanTheTransfer_GoesAsAnSgl_DataSglLengthInvalid_Eio()
    {
        using Machine.Machine machine = Machine.Machine.Load("default");
        NvmeDev dev = machine.NvmeDrivers["nvme0"];
        NvmeNs ns = dev.Namespaces[0];
        long sgls = dev.SglCommands;

        // 16 blocks (8 KiB) into a 512-byte buffer: the SGL describes fewer bytes than the command moves.
        NvmePassthroughResult result = ns.SubmitIo(false, 0, 16, HostBio(machine, ReqOp.Read, 512));

        Assert.True(dev.SglSupported);
        Assert.Equal(sgls + 1, dev.SglCommands);
        Assert.Equal(NvmeStatusCode.SglInvalidData, result.Code);
        Assert.True(result.DoNotRetry);
        Assert.Equal(Errno.EIO, result.Errno);
    }

    [Fact]
    public void DataTransferError_IsAnIoError_Eio_WithoutDnr_AndPassthroughIsNotRetried()
    {
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.SwitchPair(AcsFlags.None));
        NvmeNs ns = machine.NvmeDrivers["nvme0"].Namespaces[0];
        KernelBuffer cmb = KernelBuffer.P2pmem(machine, "nvme1", 4096);
        KernelBuffer.Ok(ns.Disk.ReadDirect(0, cmb.Vecs(0, 4096))); // caches BUS_ADDR for nvme0
        foreach (string port in new[] { "sw0.dp0", "sw0.dp1" })
        {
            PciFunction f = machine.Fabric[port];
            f.Config.Write16(f.AcsCapabilityOffset + AcsConfig.Control, (ushort)(AcsFlags.RR | AcsFlags.CR));
        }

        var bio = new Bio(machine.P2pDma, ReqOp.Read, 0);
        bio.BioAddPage(new PhysAddress(cmb.Pages[0]), 4096, 0);

        // The stale BUS_ADDR verdict sends the bus address up to the IOMMU, which has no mapping for it.
        NvmePassthroughResult result = ns.SubmitIo(false, 0, 8, bio);

        Assert.Equal(NvmeStatusCode.DataXferError, result.Code);
        Assert.False(result.DoNotRetry);
        Assert.Equal(Errno.EIO, result.Errno);
        Assert.Equal(1, machine.Iommus[0].Faults.TotalCount);
    }

    [Fact]
    public void NvmeErrorStatus_MapsLikeLinux_AndIgnoresTheDnrBit()
    {
        Assert.Equal(BlkStatus.Ok, NvmeStatusCode.NvmeErrorStatus(NvmeStatusCode.Success));
        Assert.Equal(BlkStatus.NoSpc, NvmeStatusCode.NvmeErrorStatus(NvmeStatusCode.CapExceeded));
        foreach (ushort target in new[] { NvmeStatusCode.LbaRange, NvmeStatusCode.CmdInterrupted, NvmeStatusCode.NsNotReady })
        {
            Assert.Equal(BlkStatus.Target, NvmeStatusCode.NvmeErrorStatus((ushort)(target | NvmeStatusCode.Dnr)));
        }

        foreach (ushort notSupp in new[] { NvmeStatusCode.BadAttributes, NvmeStatusCode.OncsNotSupported, NvmeStatusCode.InvalidOpcode, NvmeStatusCode.InvalidField, NvmeStatusCode.InvalidNs })
        {
            Assert.Equal(BlkStatus.NotSupp, NvmeStatusCode.NvmeErrorStatus(notSupp));
        }

        foreach (ushort ioErr in new[] { NvmeStatusCode.DataXferError, NvmeStatusCode.PrpInvalidOffset, NvmeStatusCode.InternalError, NvmeStatusCode.QidInvalid, NvmeStatusCode.HostAbortedCmd })
        {
            Assert.Equal(BlkStatus.IoErr, NvmeStatusCode.NvmeErrorStatus(ioErr));
        }
    }

    [Fact]
    public void ControllerThatStopsFetching_SetsCfs_TimeoutMarksItDead_AndLaterIoFailsAtOnce()
    {
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.Single(0, IommuMode.Off, 16 * Topo.MiB), bindDrivers: false);
        NvmeDev dev = machine.NvmeDriver.Probe(machine.Fabric["nvme0"], new NvmeDriverOptions { IoTimeoutPolls = 50 }).Value;
        BlockDevice disk = dev.Namespaces[0].Disk;
        KernelBuffer buffer = KernelBuffer.Contiguous(machine, 0);
        PciFunction function = machine.Fabric["nvme0"];

        // Bus Master off: the controller's next SQ fetch fails, which it reports as Controller Fatal Status.
        function.Config.Write16(PciConfig.Command, PciConfig.CommandMemory);

        Assert.Equal(Errno.EIO, disk.WriteDirect(0, buffer.Vecs(0, 4096)).Error);
        Assert.Equal(NvmeCtrlState.Dead, dev.State);
        Assert.Contains(dev.KernelLog, l => l.StartsWith("nvme nvme0: controller is down; will reset: CSTS=0x3", StringComparison.Ordinal));
        long dispatched = disk.Queue.TagSet.HwQueues[1].Dispatched;
        Assert.Equal(Errno.EIO, disk.WriteDirect(0, buffer.Vecs(0, 4096)).Error);
        Assert.All(dev.IoQueues, q => Assert.False(q.IsEnabled));
        Assert.Equal(dispatched + 1, disk.Queue.TagSet.HwQueues[1].Dispatched);
    }

    [Fact]
    public void LostDoorbell_TimesOutWithEtimedout_AndTheLateCompletionIsRecognisedAsStale()
    {
        using var machine = new InterposedMachine(DriverTopologies.Single(0, IommuMode.Off, 16 * Topo.MiB));
        NvmeDev dev = machine.Driver(new NvmeDriverOptions { IoTimeoutPolls = 50, IoQueueCount = 1 }).Probe(machine.Fabric["nvme0"]).Value;
        BlockDevice disk = dev.Namespaces[0].Disk;
        var bio = new Bio(machine.P2p, ReqOp.Write, 0);
        bio.BioAddPage(new PhysAddress(machine.Pages.AllocPage().Value), 4096, 0);
        machine.Interposers["nvme0"].DropWrite = (offset, _) => offset == 0x1008; // queue 1's SQ tail doorbell

        Assert.Equal(BlkStatus.TimeOut, disk.SubmitBioWait(bio));
        Assert.Equal(NvmeCtrlState.Live, dev.State);
        Assert.Contains(dev.KernelLog, l => l.Contains("I/O tag 0 QID 1 timeout", StringComparison.Ordinal));

        machine.Interposers["nvme0"].DropWrite = null;
        var again = new Bio(machine.P2p, ReqOp.Write, 8);
        again.BioAddPage(new PhysAddress(machine.Pages.AllocPage().Value), 4096, 0);

        // The next doorbell makes the controller run both entries; the first completion carries the old generation.
        Assert.Equal(BlkStatus.Ok, disk.SubmitBioWait(again));
        Assert.Contains(dev.KernelLog, l => l.Contains("genctr mismatch (got 0x1 expected 0x2)", StringComparison.Ordinal));
    }
}
