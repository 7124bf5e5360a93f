using System;
using P2pEmu.Dma.Block;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Drivers.Nvme;

/// <summary>
/// Linux <c>struct nvme_ns</c>: one active namespace of a controller and its disk (<c>nvme&lt;ctrl&gt;n&lt;instance&gt;</c>),
/// whose request queue shares the controller's hardware queues.
/// </summary>
public sealed class NvmeNs
{
    internal NvmeNs(NvmeDev controller, uint nsid, NvmeIdNs id, BlockDevice disk)
    {
        Controller = controller;
        Nsid = nsid;
        Id = id;
        Disk = disk;
    }

    public NvmeDev Controller { get; }

    public uint Nsid { get; }

    /// <summary>What Identify Namespace reported.</summary>
    public NvmeIdNs Id { get; }

    /// <summary>The disk.</summary>
    public BlockDevice Disk { get; }

    /// <summary>log2 of the logical block size (<c>ns-&gt;head-&gt;lba_shift</c>).</summary>
    public int LbaShift => Id.LbaDataShift;

    public override string ToString() => $"{Disk.Name} (NSID {Nsid})";

    /// <summary>
    /// <c>nvme_submit_user_cmd</c> on an I/O queue (<c>NVME_IOCTL_IO_CMD</c>): sends <paramref name="command"/> as
    /// given (its NSID included) with <paramref name="data"/>'s pages as the data buffer (PRPs built by the driver).
    /// Never retried. The data direction follows the opcode (bit 0: to the device).
    /// </summary>
    /// <returns>The result; EINVAL (as <see cref="BlkStatus.Inval"/>) when the data does not fit one request.</returns>
    public NvmePassthroughResult SubmitIoCommand(NvmeCommand command, Bio? data = null)
    {
        ReqOp op = (command.Opcode & 1) != 0 ? ReqOp.DrvOut : ReqOp.DrvIn;
        Result<Request> request = Disk.Queue.AllocRequest(op, ReqFlags.FailfastDriver, data);
        if (!request.IsSuccess)
        {
            return new NvmePassthroughResult(0, 0, BlkErrors.ErrnoToBlkStatus(request.Error));
        }

        var iod = new NvmeIod { Passthrough = command };
        request.Value.Pdu = iod;
        BlkStatus status = Disk.IsRemoved ? BlkStatus.Offline : Disk.Queue.BlkExecuteRq(request.Value);
        return new NvmePassthroughResult(iod.Status, iod.Result, status);
    }

    /// <summary>A passthrough Read or Write of whole logical blocks (<c>NVME_IOCTL_SUBMIT_IO</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="blocks"/> is 0 or above 65,536.</exception>
    public NvmePassthroughResult SubmitIo(bool write, ulong slba, uint blocks, Bio? data)
    {
        ArgumentOutOfRangeException.ThrowIfZero(blocks);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(blocks, 65536u);
        var command = new NvmeCommand
        {
            Opcode = write ? NvmeOpcode.CmdWrite : NvmeOpcode.CmdRead,
            Nsid = Nsid,
            Cdw10 = unchecked((uint)slba),
            Cdw11 = (uint)(slba >> 32),
            Cdw12 = blocks - 1,
        };
        return SubmitIoCommand(command, data);
    }
}
