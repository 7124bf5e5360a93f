using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using P2pEmu.Dma.Block;

namespace P2pEmu.Drivers.Nvme;

/// <content>
/// The blk-mq side (Linux <c>nvme_mq_ops</c>): <c>nvme_queue_rq</c>, <c>nvme_queue_rqs</c>, <c>nvme_poll</c>, <c>nvme_handle_cqe</c>,
/// <c>nvme_complete_rq</c> with its retry rule, and <c>nvme_timeout</c>.
/// </content>
public sealed partial class NvmeDev
{
    private const int TagBits = 12;
    private const int TagMask = (1 << TagBits) - 1;

    private static readonly Predicate<Request> s_batched = static request => ((NvmeIod)request.Pdu!).Batched;

    /// <summary>
    /// <c>nvme_queue_rq</c>: prepares the request (<see cref="PrepRq"/>), copies the entry into the SQ and rings the
    /// doorbell — for the last request of a batch only (<c>bd-&gt;last</c>).
    /// </summary>
    BlkStatus IBlkMqOps.QueueRq(BlkMqHwCtx hctx, Request request, bool last)
    {
        var queue = (NvmeQueue)hctx.DriverData!;
        BlkStatus prepared = PrepRq(queue, request, out NvmeIod iod);
        if (prepared != BlkStatus.Ok)
        {
            return prepared;
        }

        lock (queue.SqLock)
        {
            if (queue.IsEnabled)
            {
                queue.CopyCmd(in iod.Command, ring: last);
                return BlkStatus.Ok;
            }
        }

        UnmapData(request, iod); // the queue went away while the data was mapped
        return BlkStatus.IoErr;
    }

    /// <summary>
    /// <c>nvme_queue_rqs</c>: prepares each request of a flushed plug (<c>nvme_prep_rq_batch</c>), then copies every
    /// prepared entry into the SQ under one hold of the SQ lock and rings the doorbell once (<c>nvme_submit_cmds</c>).
    /// A request that does not prepare, or finds the queue gone, stays in the list for <c>nvme_queue_rq</c>, which
    /// fails or retries it on its own.
    /// </summary>
    void IBlkMqOps.QueueRqs(BlkMqHwCtx hctx, List<Request> requests)
    {
        var queue = (NvmeQueue)hctx.DriverData!;
        bool anyPrepared = false;
        foreach (Request request in requests)
        {
            bool prepared = PrepRq(queue, request, out NvmeIod iod) == BlkStatus.Ok;
            iod.Batched = prepared;
            anyPrepared |= prepared;
        }

        if (!anyPrepared)
        {
            return;
        }

        bool submitted = false;
        lock (queue.SqLock)
        {
            if (queue.IsEnabled)
            {
                foreach (Request request in requests)
                {
                    var iod = (NvmeIod)request.Pdu!;
                    if (iod.Batched)
                    {
                        queue.CopyCmd(in iod.Command, ring: false);
                    }
                }

                queue.CommitSq();
                submitted = true;
            }
        }

        if (!submitted)
        {
            foreach (Request request in requests)
            {
                var iod = (NvmeIod)request.Pdu!;
                if (iod.Batched)
                {
                    UnmapData(request, iod); // the queue went away while the data was mapped
                    iod.Batched = false;
                }
            }

            return;
        }

        requests.RemoveAll(s_batched);
    }

    /// <summary>
    /// <c>nvme_prep_rq</c> with the readiness check: builds the command into the request's iod (<c>nvme_setup_rw</c>, or
    /// the passthrough command as given), tags it with the request's tag and generation counter, and maps the data into
    /// PRPs or an SGL.
    /// </summary>
    private BlkStatus PrepRq(NvmeQueue queue, Request request, out NvmeIod iod)
    {
        iod = request.Pdu as NvmeIod ?? new NvmeIod();
        request.Pdu = iod;
        iod.Reset();
        if (!queue.IsEnabled || State != NvmeCtrlState.Live)
        {
            return BlkStatus.IoErr; // nvme_fail_nonready_command: the controller is gone
        }

        // Built in place, field by field: a whole command copied in from the stack would be read back before its
        // small stores had left the store buffer.
        ref NvmeCommand command = ref iod.Command;
        if (iod.Passthrough is NvmeCommand passthrough)
        {
            command = passthrough;
        }
        else if (request.Queue.QueueData is NvmeNs ns && request.Op is ReqOp.Read or ReqOp.Write)
        {
            ulong slba = request.Sector >> (ns.LbaShift - BlockGeometry.SectorShift);
            command = default;
            command.Opcode = request.Op == ReqOp.Write ? NvmeOpcode.CmdWrite : NvmeOpcode.CmdRead;
            command.Nsid = ns.Nsid;
            command.Cdw10 = unchecked((uint)slba);
            command.Cdw11 = (uint)(slba >> 32);
            command.Cdw12 = (request.PayloadBytes >> ns.LbaShift) - 1;
        }
        else
        {
            return BlkStatus.IoErr;
        }

        byte genctr = queue.NextGenctr(request.Tag);
        command.CommandId = (ushort)((genctr << TagBits) | request.Tag);
        if (request.NrPhysSegments > 0)
        {
            BlkStatus mapped = MapData(queue, request, iod, ref command);
            if (mapped != BlkStatus.Ok)
            {
                return mapped;
            }
        }

        NvmeEventSource log = NvmeEventSource.Log;
        if (log.IsEnabled())
        {
            iod.CommandTag = ((long)command.CommandId << 16) | ((long)command.Opcode << 8);
            iod.SubmittedAt = Stopwatch.GetTimestamp();
            log.SetupCmd(NvmeEventSource.Queue(this, queue), iod.CommandTag | (iod.P2pBus ? 1L : 0L), request.PayloadBytes);
        }

        return BlkStatus.Ok;
    }

    /// <summary><c>nvme_commit_rqs</c>: rings the SQ doorbell for entries a batch left unannounced.</summary>
    void IBlkMqOps.CommitRqs(BlkMqHwCtx hctx)
    {
        var queue = (NvmeQueue)hctx.DriverData!;
        lock (queue.SqLock)
        {
            if (queue.IsEnabled)
            {
                queue.CommitSq();
            }
        }
    }

    /// <summary><c>nvme_poll</c>: reaps the queue's completions (what the interrupt handler calls too).</summary>
    int IBlkMqOps.Poll(BlkMqHwCtx hctx) => ReapQueue((NvmeQueue)hctx.DriverData!);

    /// <summary><c>nvme_poll</c> with the poller's <c>io_comp_batch</c>: successful completions wait in it (see <see cref="HandleIoCqe"/>).</summary>
    int IBlkMqOps.Poll(BlkMqHwCtx hctx, IoCompBatch? iob) => ReapQueue((NvmeQueue)hctx.DriverData!, iob);

    /// <summary>
    /// <c>nvme_timeout</c>: first a last poll ("completion polled"); a controller that reads all-ones or reports CSTS.CFS
    /// is marked dead and every request in flight fails. Deviation: a healthy controller's late command is not
    /// aborted (no Abort command, no reset): the request is unmapped and ends with <see cref="BlkStatus.TimeOut"/>.
    /// </summary>
    void IBlkMqOps.Timeout(Request request)
    {
        var queue = (NvmeQueue)request.Hctx!.DriverData!;
        uint csts = _cpu.Readl(Bar0 + NvmeReg.Csts);
        ReapQueue(queue);
        if (request.IsComplete)
        {
            Info(string.Create(CultureInfo.InvariantCulture, $"I/O tag {request.Tag} QID {queue.Qid} timeout, completion polled"));
            return;
        }

        if (csts == uint.MaxValue || (csts & NvmeReg.CstsCfs) != 0)
        {
            Info(string.Create(CultureInfo.InvariantCulture, $"controller is down; will reset: CSTS=0x{csts:x}"));
            MarkDead(csts);
            return;
        }

        // Under the poll lock, so an interrupt handler reaping the late completion cannot end and unmap it as well.
        lock (queue.CqPollLock)
        {
            if (request.IsComplete)
            {
                return;
            }

            Info(string.Create(CultureInfo.InvariantCulture, $"I/O tag {request.Tag} QID {queue.Qid} timeout"));
            if (request.Pdu is NvmeIod iod)
            {
                UnmapData(request, iod);
            }

            RequestQueue.BlkMqEndRequest(request, BlkStatus.TimeOut);
        }
    }

    /// <summary>
    /// <c>nvme_poll_cq</c>, for the poller and the interrupt handler alike: processes an I/O queue's completions under its
    /// poll lock, then sends the requests that asked for a retry (outside the lock, see <see cref="NvmeQueue"/>).
    /// </summary>
    private int ReapQueue(NvmeQueue queue, IoCompBatch? iob = null)
    {
        int found;
        Request[]? retries = null;
        lock (queue.CqPollLock)
        {
            IoCompBatch? outer = queue.PollBatch; // a reap nested in this thread's own (the lock is reentrant)
            queue.PollBatch = iob;
            found = queue.IsEnabled ? queue.ProcessCq(_handleIoCqe) : 0;
            queue.PollBatch = outer;
            if (queue.Requeue.Count != 0)
            {
                retries = queue.Requeue.ToArray();
                queue.Requeue.Clear();
            }
        }

        if (retries is not null)
        {
            foreach (Request request in retries)
            {
                request.Queue.BlkMqRequeueRequest(request);
            }
        }

        return found;
    }

    /// <summary>
    /// <c>nvme_handle_cqe</c>: finds the request by tag, checks the generation counter (a stale completion is
    /// ignored), records status and DW0, then adds a success to the poller's batch (<c>blk_mq_add_to_batch</c>, ended by
    /// <see cref="PciCompleteBatch"/>) or, without one, unmaps the data and completes it.
    /// </summary>
    private void HandleIoCqe(NvmeQueue queue, NvmeCompletion cqe)
    {
        int tag = cqe.CommandId & TagMask;
        int genctr = cqe.CommandId >> TagBits;
        Request? request = queue.Hctx?.TagToRq(tag);
        if (request is null)
        {
            Info(string.Create(CultureInfo.InvariantCulture, $"invalid id {cqe.CommandId} completed on queue {queue.Qid}"));
            return;
        }

        if (genctr != queue.Genctr(tag) || request.Pdu is not NvmeIod iod)
        {
            Info(string.Create(CultureInfo.InvariantCulture, $"request 0x{cqe.CommandId:x} genctr mismatch (got 0x{genctr:x} expected 0x{queue.Genctr(tag):x})"));
            return;
        }

        iod.Status = cqe.StatusField;
        iod.Result = cqe.Result;
        NvmeEventSource log = NvmeEventSource.Log;
        if (iod.SubmittedAt != 0 && log.IsEnabled())
        {
            long latency = (long)Stopwatch.GetElapsedTime(iod.SubmittedAt).TotalNanoseconds;
            long commandId = iod.CommandTag >> 16;
            long opcode = (iod.CommandTag >> 8) & 0xFF;
            log.CompleteRq(NvmeEventSource.Queue(this, queue), (commandId << 32) | (opcode << 16) | iod.Status, latency);
        }

        if (RequestQueue.BlkMqAddToBatch(request, queue.PollBatch, iod.Status != NvmeStatusCode.Success, _completeBatch))
        {
            return;
        }

        UnmapData(request, iod);
        CompleteRq(request, iod, queue);
    }

    /// <summary><c>nvme_pci_complete_batch</c>: unmaps each request's data (<c>nvme_pci_unmap_rq</c>), then ends them all.</summary>
    private void PciCompleteBatch(IoCompBatch iob)
    {
        foreach (Request request in iob.Requests)
        {
            UnmapData(request, (NvmeIod)request.Pdu!);
        }

        RequestQueue.BlkMqEndRequestBatch(iob);
    }

    /// <summary>
    /// <c>nvme_complete_rq</c>: success ends the request; an error without Do Not Retry on a request that may be
    /// retried (not passthrough) is sent again up to <see cref="NvmeDriverOptions.MaxRetries"/> times (queued on the
    /// queue, sent once the reap is done); anything else ends with <see cref="NvmeStatusCode.NvmeErrorStatus"/>.
    /// </summary>
    private void CompleteRq(Request request, NvmeIod iod, NvmeQueue queue)
    {
        if (iod.Status == NvmeStatusCode.Success)
        {
            RequestQueue.BlkMqEndRequest(request, BlkStatus.Ok);
            return;
        }

        if (!request.NoRetry && (iod.Status & NvmeStatusCode.Dnr) == 0 && request.Retries < _options.MaxRetries && State == NvmeCtrlState.Live)
        {
            request.Retries++;
            queue.Requeue.Add(request);
            return;
        }

        if (!request.NoRetry)
        {
            Info(string.Create(CultureInfo.InvariantCulture, $"I/O Cmd({request.Op}) @ sector {request.Sector}, {request.PayloadBytes} bytes QID {queue.Qid}: status 0x{iod.Status & NvmeStatusCode.CodeMask:x}{((iod.Status & NvmeStatusCode.Dnr) != 0 ? " DNR" : string.Empty)}"));
        }

        RequestQueue.BlkMqEndRequest(request, NvmeStatusCode.NvmeErrorStatus(iod.Status));
    }

    /// <summary>The controller failed (CSTS.CFS or gone): nothing more is sent, and every request in flight ends.</summary>
    private void MarkDead(uint csts)
    {
        if (State is NvmeCtrlState.Dead or NvmeCtrlState.Deleted)
        {
            return;
        }

        State = NvmeCtrlState.Dead;
        Info(string.Create(CultureInfo.InvariantCulture, $"Removing after controller failure, CSTS=0x{csts:x}"));
        foreach (NvmeQueue queue in _queues)
        {
            queue.Disable();
        }

        FailInflight(NvmeStatusCode.HostAbortedCmd);
    }

    /// <summary><c>nvme_cancel_request</c> for every request in flight: unmapped and ended with <paramref name="status"/>.</summary>
    private void FailInflight(ushort status)
    {
        if (TagSet is null)
        {
            return;
        }

        foreach (BlkMqHwCtx hctx in TagSet.HwQueues)
        {
            var queue = (NvmeQueue)hctx.DriverData!;
            lock (queue.CqPollLock)
            {
                for (int tag = 0; tag < hctx.QueueDepth; tag++)
                {
                    Request? request = hctx.TagToRq(tag);
                    if (request is null || request.IsComplete)
                    {
                        continue;
                    }

                    if (request.Pdu is NvmeIod iod)
                    {
                        iod.Status = status;
                        UnmapData(request, iod);
                    }

                    RequestQueue.BlkMqEndRequest(request, NvmeStatusCode.NvmeErrorStatus(status));
                }
            }
        }
    }
}
