using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace P2pEmu.Emulator.Devices.Nvme;

/// <summary>Doorbells, command fetch and completion posting.</summary>
public sealed partial class NvmeController
{
    /// <summary>The MSI-X vectors due after a round (engine only; no allocation per round).</summary>
    private readonly int[] _dueVectors = new int[MaxIoQueues + 1];

    /// <summary>Set under <see cref="_lock"/> by a doorbell write that gives the engine work; the BAR0 access kicks it after unlocking.</summary>
    private bool _kick;

    /// <summary>
    /// One past the highest queue identifier created since the last reset: the queue scans stop there. Written under
    /// <see cref="_lock"/>; a round reads it without, as a bound (a queue it misses is null or comes with a kick).
    /// </summary>
    private int _queueIdLimit = 1;

    /// <summary>A doorbell write (under <see cref="_lock"/>): records the index and asks the engine for a round.</summary>
    private void OnDoorbellWrite(int index, uint old, uint now)
    {
        if (!_rdy.IsSet || _cfs.IsSet)
        {
            return;
        }

        int qid = index >> 1;
        NvmeQueue? queue = (index & 1) == 0 ? _submissionQueues[qid] : _completionQueues[qid];
        if (queue is null || now >= queue.Entries)
        {
            InvalidDoorbellWriteCount++;
            return;
        }

        if ((index & 1) == 0)
        {
            queue.Tail = now;
            _kick = true;
        }
        else
        {
            queue.Head = now;
            if (queue.Stalled)
            {
                queue.Stalled = false;
                _kick = true; // entries freed: submission queues stalled on this full CQ resume
            }
        }
    }

    /// <summary>
    /// The engine's round: runs every submission queue until none makes progress, then interrupts each completion queue
    /// that got entries. Each command is fetched, executed and completed under <see cref="_lock"/>, so host register
    /// accesses (a CC write that resets the controller, say) fall between commands; the lock is never held while an
    /// interrupt message goes out. A doorbell written during the round (by a command's DMA into BAR0, an interrupt
    /// handler, another host thread) kicks the engine again, so its work runs in the next round, never recursively.
    /// </summary>
    private void RunQueues()
    {
        bool progress = true;
        while (progress)
        {
            progress = false;
            for (int qid = 0; qid < Volatile.Read(ref _queueIdLimit); qid++)
            {
                while (ProcessCommand(qid))
                {
                    progress = true;
                }
            }
        }

        InterruptCompletionQueues();
    }

    /// <summary>
    /// Signals the MSI-X vector of every completion queue with interrupts enabled that got entries since its last
    /// interrupt: one message per queue per round (interrupt coalescing is not modelled). INTMS/INTMC play no part,
    /// as the specification says for MSI-X. The queues are read under the lock; the messages go out after it.
    /// </summary>
    private void InterruptCompletionQueues()
    {
        int due = 0;
        lock (_lock)
        {
            for (int qid = 0; qid < _queueIdLimit; qid++)
            {
                NvmeQueue? cq = _completionQueues[qid];
                if (cq is null || !cq.InterruptDue)
                {
                    continue;
                }

                cq.InterruptDue = false;
                if (cq.InterruptsEnabled)
                {
                    _dueVectors[due++] = cq.InterruptVector;
                }
            }
        }

        for (int i = 0; i < due; i++)
        {
            _msix.Signal(_dueVectors[i]);
        }
    }

    /// <summary>
    /// Fetches, executes and completes the next command of submission queue <paramref name="qid"/>, under the lock.
    /// </summary>
    /// <returns>False when there is nothing to do: no such queue, no entry, a full CQ (resumed by its head doorbell),
    /// or a controller that is not ready, failed, or failed or reset during the command.</returns>
    private bool ProcessCommand(int qid)
    {
        // A look without the lock: a tail written after it comes with a kick, so the next round sees it.
        NvmeQueue? unlocked = Volatile.Read(ref _submissionQueues[qid]);
        if (unlocked is null || unlocked.Head == unlocked.Tail)
        {
            return false;
        }

        lock (_lock)
        {
            NvmeQueue? sq = _submissionQueues[qid];
            if (sq is null || sq.Head == sq.Tail || !_rdy.IsSet || _cfs.IsSet)
            {
                return false;
            }

            NvmeQueue? cq = _completionQueues[sq.CompletionQueueId];
            if (cq is null)
            {
                return false;
            }

            if (cq.IsFull)
            {
                cq.Stalled = true; // its head doorbell kicks the engine
                return false;
            }

            if (!sq.TryTakeFetched(out NvmeCommand command) && !FetchBurst(sq, out command))
            {
                _cfs.IsSet = true;
                return false;
            }

            sq.Head = sq.Next(sq.Head);
            uint dw0 = 0;
            BeginCommand();
            NvmeStatus status = sq.Id == 0 ? ExecuteAdmin(in command, ref dw0) : ExecuteIo(in command);
            if (!_rdy.IsSet || _completionQueues[sq.CompletionQueueId] != cq)
            {
                return false; // the command reset the controller or deleted the queue (a DMA into BAR0)
            }

            if (status != NvmeStatus.Success)
            {
                RecordError(sq.Id, in command, status, cq.Phase);
            }

            if (!PostCompletion(cq, sq, command.Cid, status, dw0))
            {
                _cfs.IsSet = true;
                return false;
            }

            return true;
        }
    }

    /// <summary>
    /// Reads the entries from the head of <paramref name="sq"/> in one burst, as controllers fetch several commands per
    /// read request: up to <see cref="NvmeQueue.MaxFetchEntries"/>, never past the tail, the end of the ring or the end of
    /// the ring's memory page (the base is page-aligned), so a read that faults fails at the entry a one-entry fetch
    /// would have failed at. The entries are host-owned until their completions report the head past them, so a copy
    /// read ahead stays valid; a host that rewrites an entry after ringing its doorbell gets the copy, as on hardware.
    /// </summary>
    /// <returns>False when the read failed; <paramref name="command"/> is then unset.</returns>
    private bool FetchBurst(NvmeQueue sq, out NvmeCommand command)
    {
        uint head = sq.Head;
        uint available = (sq.Tail > head ? sq.Tail : sq.Entries) - head;
        uint toPageEnd = (PageBytes / SqEntryBytes) - (head % (PageBytes / SqEntryBytes));
        int count = (int)Math.Min(Math.Min(available, toPageEnd), NvmeQueue.MaxFetchEntries);
        Span<byte> burst = sq.BeginFetch(count);
        if (ReadMemory(sq.BaseAddress.Add((ulong)head * SqEntryBytes).Value, burst) != NvmeStatus.Success)
        {
            command = default;
            return false;
        }

        sq.EndFetch(count);
        command = MemoryMarshal.Read<NvmeCommand>(burst);
        return true;
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
        if (WriteMemory(cq.BaseAddress.Add((ulong)cq.Tail * CqEntryBytes).Value, bytes) != NvmeStatus.Success)
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
