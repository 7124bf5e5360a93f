using System;
using System.Runtime.InteropServices;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Emulator.Devices.Nvme;

/// <summary>Doorbells, command fetch and completion posting.</summary>
public sealed partial class NvmeController
{
    /// <summary>Set while <see cref="RunQueues"/> runs (MMIO thread only).</summary>
    private bool _running;

    private void OnDoorbellWrite(int index, uint old, uint now)
    {
        if (!_rdy.IsSet || _cfs.IsSet)
        {
            return;
        }

        int qid = index >> 1;
        if ((index & 1) == 0)
        {
            NvmeQueue? sq = _submissionQueues[qid];
            if (sq is null || now >= sq.Entries)
            {
                InvalidDoorbellWriteCount++;
                return;
            }

            sq.Tail = now;
            RunQueues();
            return;
        }

        NvmeQueue? cq = _completionQueues[qid];
        if (cq is null || now >= cq.Entries)
        {
            InvalidDoorbellWriteCount++;
            return;
        }

        cq.Head = now;
        RunQueues(); // entries freed: submission queues stalled on this full CQ resume
    }

    /// <summary>
    /// Runs every submission queue until none makes progress, then interrupts each completion queue that got entries.
    /// Re-entrant doorbell writes (a command's data DMA or an interrupt message aimed at this controller's own BAR0, or
    /// a host interrupt handler submitting more work) only record the new index: the outer run picks the work up, so
    /// a guest cannot recurse the device, and a reset during a command ends the run.
    /// </summary>
    private void RunQueues()
    {
        if (_running)
        {
            return;
        }

        _running = true;
        do
        {
            bool progress = true;
            while (progress && _rdy.IsSet && !_cfs.IsSet)
            {
                progress = false;
                for (int qid = 0; qid <= MaxIoQueues; qid++)
                {
                    NvmeQueue? sq = _submissionQueues[qid];
                    if (sq is not null && sq.Head != sq.Tail && ProcessSubmissionQueue(sq))
                    {
                        progress = true;
                    }
                }
            }
        }
        while (InterruptCompletionQueues());

        _running = false;
    }

    /// <summary>
    /// Signals the MSI-X vector of every completion queue with interrupts enabled that got entries since its last
    /// interrupt: one message per queue per batch (interrupt coalescing is not modelled). INTMS/INTMC play no part,
    /// as the specification says for MSI-X.
    /// </summary>
    /// <returns>Whether a message went out (its write, or the handler it ran, may have rung a doorbell).</returns>
    private bool InterruptCompletionQueues()
    {
        bool sent = false;
        foreach (NvmeQueue? cq in _completionQueues)
        {
            if (cq is null || !cq.InterruptDue)
            {
                continue;
            }

            cq.InterruptDue = false;
            if (cq.InterruptsEnabled && _msix.Signal(cq.InterruptVector) == MsiXSignal.Sent)
            {
                sent = true;
            }
        }

        return sent;
    }

    /// <summary>Fetches and executes commands until the SQ is empty, its CQ is full, or the controller fails or resets.</summary>
    /// <returns>Whether at least one command completed.</returns>
    private bool ProcessSubmissionQueue(NvmeQueue sq)
    {
        Span<byte> entry = stackalloc byte[SqEntryBytes];
        bool progress = false;
        while (sq.Head != sq.Tail && _rdy.IsSet && !_cfs.IsSet && _submissionQueues[sq.Id] == sq)
        {
            NvmeQueue? cq = _completionQueues[sq.CompletionQueueId];
            if (cq is null || cq.IsFull)
            {
                return progress; // resumed by the CQ head doorbell
            }

            if (!_dma!.Read(sq.BaseAddress.Add((ulong)sq.Head * SqEntryBytes), entry).IsSuccess)
            {
                _cfs.IsSet = true;
                return progress;
            }

            sq.Head = (sq.Head + 1) % sq.Entries;
            NvmeCommand command = MemoryMarshal.Read<NvmeCommand>(entry);
            uint dw0 = 0;
            BeginCommand();
            NvmeStatus status = sq.Id == 0 ? ExecuteAdmin(in command, ref dw0) : ExecuteIo(in command);
            if (!_rdy.IsSet || _completionQueues[sq.CompletionQueueId] != cq)
            {
                return progress; // the command reset the controller or deleted the queue (a DMA into BAR0)
            }

            if (status != NvmeStatus.Success)
            {
                RecordError(sq.Id, in command, status, cq.Phase);
            }

            if (!PostCompletion(cq, sq, command.Cid, status, dw0))
            {
                _cfs.IsSet = true;
                return progress;
            }

            progress = true;
        }

        return progress;
    }

    private bool PostCompletion(NvmeQueue cq, NvmeQueue sq, ushort cid, NvmeStatus status, uint dw0)
    {
        NvmeCompletion completion = new()
        {
            Dw0 = dw0,
            SqHead = (ushort)sq.Head,
            SqId = sq.Id,
            Cid = cid,
            StatusPhase = EncodeStatus(status, cq.Phase),
        };
        Span<byte> bytes = stackalloc byte[CqEntryBytes];
        MemoryMarshal.Write(bytes, in completion);
        if (!_dma!.Write(cq.BaseAddress.Add((ulong)cq.Tail * CqEntryBytes), bytes).IsSuccess)
        {
            return false;
        }

        cq.InterruptDue = true;
        cq.Tail++;
        if (cq.Tail == cq.Entries)
        {
            cq.Tail = 0;
            cq.Phase = !cq.Phase;
        }

        return true;
    }

    /// <summary>Status field: P in bit 0, SC in 8:1, SCT in 11:9, DNR (bit 15) on every error but a transfer error.</summary>
    private static ushort EncodeStatus(NvmeStatus status, bool phase)
    {
        uint value = phase ? 1u : 0u;
        if (status != NvmeStatus.Success)
        {
            uint code = (uint)status;
            value |= (code & 0xFF) << 1;
            value |= ((code >> 8) & 7) << 9;
            if (status != NvmeStatus.DataTransferError)
            {
                value |= 1u << 15;
            }
        }

        return (ushort)value;
    }
}
