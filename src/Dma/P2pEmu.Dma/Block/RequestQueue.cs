using System;
using System.Collections.Generic;
using System.Threading;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Dma.Block;

/// <summary>
/// Linux <c>struct request_queue</c> under blk-mq: a disk's limits and features, and the path from a bio to the
/// driver — split by the limits into requests, each given a tag on a hardware queue of the shared
/// <see cref="BlkMqTagSet"/> and passed to <see cref="IBlkMqOps.QueueRq"/> — and back: the driver ends requests
/// with <see cref="BlkMqEndRequest"/> (from its interrupt handler, or when a waiter polls), which ends the bio a
/// request came from once all its requests have. Waiters (<see cref="BioWait"/>, <see cref="Wait"/>) sleep until the
/// interrupt handler ends their I/O, or poll the hardware queues (<see cref="BioPoll"/>) that are poll queues.
/// </summary>
/// <remarks>
/// Deviations: bios are never merged into one request (so <see cref="ReqFlags.NoMerge"/> is carried but changes
/// nothing, and a <see cref="BlkPlug"/> only batches dispatch) and there is no I/O scheduler; a dispatch that gets
/// <see cref="BlkStatus.Resource"/> is retried after a poll a bounded number of times, then ended with that status.
/// </remarks>
#pragma warning disable CA1711 // Linux's name.
public sealed class RequestQueue
#pragma warning restore CA1711
{
    /// <summary>How many times a dispatch refused for lack of resources is tried again before it fails.</summary>
    public const int ResourceRetries = 8;

    /// <summary><c>TAG_COMP_BATCH</c>: tags a batch completion returns to a hardware queue at once.</summary>
    public const int TagCompBatch = 32;

    /// <summary>How long one wait for an interrupt-completed request lasts (one of the timeout's polls).</summary>
    public const int InterruptWaitMilliseconds = 1;

    /// <summary>
    /// Empty polls a waiter on a poll queue spins and yields through before each further one sleeps 1 ms: quick for a
    /// device on another thread, still about a millisecond per poll towards the timeout.
    /// </summary>
    public const int PollSpinsBeforeSleep = 1000;

    private int _dying;

    /// <summary><c>blk_mq_alloc_queue</c>: a queue over <paramref name="tagSet"/> with <paramref name="limits"/>.</summary>
    /// <param name="p2p">The machine's P2PDMA state (page maps, for bios and the DMA iterator).</param>
    /// <param name="queueData"><c>queuedata</c>: the driver's object for the disk (an NVMe namespace).</param>
    /// <exception cref="ArgumentException">The limits are not valid.</exception>
    public RequestQueue(BlkMqTagSet tagSet, QueueLimits limits, P2pDmaHost p2p, object? queueData = null)
    {
        ArgumentNullException.ThrowIfNull(tagSet);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(p2p);
        limits.Validate();
        TagSet = tagSet;
        Limits = limits;
        P2p = p2p;
        QueueData = queueData;
    }

    public BlkMqTagSet TagSet { get; }

    public QueueLimits Limits { get; }

    public P2pDmaHost P2p { get; }

    /// <summary><c>q-&gt;queuedata</c>: the driver's object for the disk.</summary>
    public object? QueueData { get; set; }

    /// <summary><c>blk_queue_pci_p2pdma(q)</c>: the queue advertises <see cref="BlkFeatures.PciP2pdma"/>.</summary>
    public bool BlkQueuePciP2pdma => (Limits.Features & BlkFeatures.PciP2pdma) != 0;

    /// <summary><c>blk_queue_dying</c>: set when the disk is removed; new I/O fails.</summary>
    public bool IsDying => Volatile.Read(ref _dying) != 0;

    /// <summary>
    /// <c>blk_mq_alloc_request</c> with data mapped as <c>blk_rq_map_kern</c> does: a request (usually a driver
    /// passthrough command) over <paramref name="data"/>'s pages, which must fit one request unsplit.
    /// </summary>
    /// <returns>The request, or EINVAL when the data breaks the queue's limits (too large, too many segments, a gap).</returns>
    public Result<Request> AllocRequest(ReqOp op, ReqFlags flags, Bio? data = null)
    {
        var segments = new List<BioVec>();
        uint bytes = 0;
        if (data is not null)
        {
            if (data.Size > Limits.MaxHwBytes || data.Vecs.Count > Limits.MaxSegments)
            {
                return Errno.EINVAL;
            }

            for (int i = 1; i < data.Vecs.Count; i++)
            {
                if (BioSplitter.HasGap(Limits, data.Vecs[i - 1], data.Vecs[i].Phys))
                {
                    return Errno.EINVAL;
                }
            }

            segments.AddRange(data.Vecs);
            bytes = data.Size;
            flags |= data.Flags;
        }

        return Result.Ok(new Request(this, op, flags, data?.Sector ?? 0, segments, bytes));
    }

    /// <summary>
    /// <c>submit_bio</c> (blk-mq): splits <paramref name="bio"/> by the limits and dispatches every piece as a static
    /// request of its hardware queue, without waiting. The bio ends (<see cref="Bio.EndIo"/>, <see cref="Bio.IsDone"/>)
    /// when all its requests have, with the first error; a bio that fails before dispatch (a dying queue: IoErr; a bio
    /// the limits cannot split: Inval) ends at once. Completions are reaped by <see cref="BioPoll"/> (or whoever polls
    /// the hardware queues).
    /// </summary>
    /// <exception cref="InvalidOperationException">The bio is in flight, or ended and was not reset.</exception>
    public void SubmitBio(Bio bio)
    {
        ArgumentNullException.ThrowIfNull(bio);
        BlkStatus status = SubmitBioCore(bio, null);
        if (status != BlkStatus.Ok)
        {
            EndBioNow(bio, status);
        }
    }

    /// <summary>
    /// <c>submit_bio</c> without waiting, with requests of their own: splits <paramref name="bio"/> by the limits and
    /// dispatches every piece, adding the requests to <paramref name="inflight"/>. The caller waits with <see cref="Wait"/>.
    /// </summary>
    /// <returns>Ok, or why the bio failed before any request was dispatched (Inval for a bio the limits cannot split, IoErr for a dying queue).</returns>
    public BlkStatus SubmitBio(Bio bio, List<Request> inflight)
    {
        ArgumentNullException.ThrowIfNull(bio);
        ArgumentNullException.ThrowIfNull(inflight);
        return SubmitBioCore(bio, inflight);
    }

    /// <summary>
    /// <c>bio_poll</c>: reaps completions on the hardware queue the bio's last request went to (all of them when its
    /// requests went to several). With <paramref name="iob"/>, a driver that batches keeps the successful ones in it
    /// instead of ending them; they end when the caller runs <see cref="IoCompBatch.CompleteBatch"/>.
    /// </summary>
    /// <returns>How many completions were found.</returns>
    public int BioPoll(Bio bio, IoCompBatch? iob = null)
    {
        ArgumentNullException.ThrowIfNull(bio);
        BlkMqHwCtx? cookie = bio.Cookie;
        if (cookie is null)
        {
            return 0;
        }

        int found = TagSet.Ops.Poll(cookie, iob);
        if (bio.SpansQueues && !bio.IsDone)
        {
            foreach (BlkMqHwCtx hctx in TagSet.HwQueues)
            {
                if (!ReferenceEquals(hctx, cookie))
                {
                    found += TagSet.Ops.Poll(hctx, iob);
                }
            }
        }

        return found;
    }

    /// <summary>
    /// <c>submit_bio_wait</c>'s wait: sleeps until the interrupt handler ends <paramref name="bio"/>,
    /// <see cref="InterruptWaitMilliseconds"/> at a time, or — when one of its requests is on a poll queue — polls for
    /// it (<see cref="BioPoll"/>; spinning, yielding, then sleeping between empty polls) until it ends; after
    /// <see cref="BlkMqTagSet.TimeoutPolls"/> polls, each of its requests still in flight gets the driver's
    /// <see cref="IBlkMqOps.Timeout"/>, and one still not complete after it ends with <see cref="BlkStatus.TimeOut"/>.
    /// </summary>
    /// <returns>The bio's status.</returns>
    public BlkStatus BioWait(Bio bio)
    {
        ArgumentNullException.ThrowIfNull(bio);
        BlkPlug.Current?.Flush(); // a waiter flushes its plug, as Linux does before it sleeps
        var spinner = default(SpinWait);
        for (int i = 0; i < TagSet.TimeoutPolls && !bio.IsDone; i++)
        {
            if (!NeedsPolling(bio))
            {
                bio.WaitForEnd(InterruptWaitMilliseconds);
            }
            else if (BioPoll(bio) == 0 && !bio.IsDone)
            {
                spinner.SpinOnce(PollSpinsBeforeSleep);
            }
        }

        if (!bio.IsDone)
        {
            TimeOutBio(bio);
        }

        return bio.Status;
    }

    /// <summary>
    /// Whether a waiter must poll for <paramref name="bio"/>: one of its requests is on a poll queue (the interrupt
    /// handler ends the others).
    /// </summary>
    private bool NeedsPolling(Bio bio)
    {
        if (bio.Cookie is not BlkMqHwCtx cookie || cookie.Type == HctxType.Poll)
        {
            return true;
        }

        if (bio.SpansQueues)
        {
            foreach (BlkMqHwCtx hctx in TagSet.HwQueues)
            {
                if (hctx.Type == HctxType.Poll)
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary><c>blk_execute_rq</c>: dispatches <paramref name="request"/> and waits for it.</summary>
    public BlkStatus BlkExecuteRq(Request request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (IsDying)
        {
            return BlkStatus.IoErr;
        }

        Dispatch(request);
        return Wait(request);
    }

    /// <summary>
    /// Waits for <paramref name="request"/>: on a poll queue by polling it (<c>blk_mq_poll</c>, spinning, yielding, then
    /// sleeping between empty polls), otherwise by sleeping until the driver's interrupt handler completes it
    /// (<c>wait_for_completion_io</c>), <see cref="InterruptWaitMilliseconds"/> at a time. Each poll or wait counts
    /// towards <see cref="BlkMqTagSet.TimeoutPolls"/>; after that many the driver's <see cref="IBlkMqOps.Timeout"/>
    /// runs, and a request still not complete after it ends with <see cref="BlkStatus.TimeOut"/>.
    /// </summary>
    public BlkStatus Wait(Request request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var spinner = default(SpinWait);
        for (int i = 0; i < TagSet.TimeoutPolls && !request.IsComplete; i++)
        {
            if (request.Hctx is not BlkMqHwCtx hctx)
            {
                break;
            }

            if (hctx.Type != HctxType.Poll)
            {
                request.WaitForCompletion(InterruptWaitMilliseconds);
            }
            else if (TagSet.Ops.Poll(hctx) == 0 && !request.IsComplete)
            {
                spinner.SpinOnce(PollSpinsBeforeSleep);
            }
        }

        if (!request.IsComplete)
        {
            TagSet.Ops.Timeout(request);
            if (!request.IsComplete)
            {
                BlkMqEndRequest(request, BlkStatus.TimeOut);
            }
        }

        return request.Status;
    }

    /// <summary>
    /// <c>blk_mq_end_request</c>: completes the request with <paramref name="status"/> and releases its tag; a request
    /// of a bio then ends its part of the bio (its static request may be reused from here on). A request that already
    /// ended is left alone.
    /// </summary>
    /// <remarks>
    /// Deviation: Linux ends the bio (<c>bi_end_io</c>) before it frees the tag. Here the tag goes first, so a
    /// <see cref="Bio.EndIo"/> that submits again, on the thread that is reaping the completion queue, finds a tag
    /// instead of polling that queue from inside its own reap.
    /// </remarks>
    public static void BlkMqEndRequest(Request request, BlkStatus status)
    {
        ArgumentNullException.ThrowIfNull(request);
        Bio? bio = request.Bio;
        if (bio is null)
        {
            request.Hctx?.PutTag(request);
            request.Complete(status);
            return;
        }

        if (request.Complete(status))
        {
            request.Hctx!.PutTag(request);
            bio.EndRequest(status);
        }
    }

    /// <summary>
    /// <c>blk_mq_add_to_batch</c>: keeps <paramref name="request"/>, which completed, in <paramref name="iob"/> to be ended
    /// by <paramref name="complete"/> with the rest of the batch. Refused (false: the driver ends it now) without a
    /// batch, for a request without a bio (passthrough, ended alone here), for a failed one, for a batch another
    /// completion routine began, and for a request that already ended (a timeout).
    /// </summary>
    /// <remarks>
    /// The request is marked complete (with Ok) as it is added, so until the batch ends it a timeout or a controller
    /// failure leaves it, and its tag, to the batch.
    /// </remarks>
    public static bool BlkMqAddToBatch(Request request, IoCompBatch? iob, bool isError, Action<IoCompBatch> complete)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(complete);
        if (iob is null || request.Bio is null || isError)
        {
            return false;
        }

        if (iob.Complete is not null && iob.Complete != complete)
        {
            return false;
        }

        if (!request.Complete(BlkStatus.Ok))
        {
            return false;
        }

        iob.Complete ??= complete;
        iob.Requests.Add(request);
        return true;
    }

    /// <summary>
    /// <c>blk_mq_end_request_batch</c>: ends every request of <paramref name="iob"/> with Ok and empties it. Tags go back
    /// per hardware queue, up to <see cref="TagCompBatch"/> at a time (<c>blk_mq_flush_tag_batch</c>); then each bio
    /// ends its part, as <see cref="BlkMqEndRequest"/> orders them.
    /// </summary>
    public static void BlkMqEndRequestBatch(IoCompBatch iob)
    {
        ArgumentNullException.ThrowIfNull(iob);
        Span<int> tags = stackalloc int[TagCompBatch];
        int count = 0;
        BlkMqHwCtx? current = null;
        foreach (Request request in iob.Requests)
        {
            Bio bio = request.Bio!;
            if (count == TagCompBatch || !ReferenceEquals(current, request.Hctx))
            {
                current?.PutTags(tags[..count]);
                count = 0;
                current = request.Hctx;
            }

            tags[count++] = request.Tag;
            iob.EndedBios.Add(bio);
        }

        current?.PutTags(tags[..count]);
        iob.Requests.Clear();
        iob.Complete = null;
        foreach (Bio bio in iob.EndedBios)
        {
            bio.EndRequest(BlkStatus.Ok);
        }

        iob.EndedBios.Clear();
    }

    /// <summary>
    /// <c>blk_mq_requeue_request</c> + re-dispatch: sends a request the driver wants to retry to the driver again, on
    /// the same hardware queue and tag. If the driver refuses it now, it ends with the refusal's status.
    /// </summary>
    public void BlkMqRequeueRequest(Request request)
    {
        ArgumentNullException.ThrowIfNull(request);
        BlkMqHwCtx hctx = request.Hctx ?? throw new InvalidOperationException($"{request} was never dispatched.");
        hctx.CountDispatches(1);
        BlkStatus status = TagSet.Ops.QueueRq(hctx, request, last: true);
        if (status != BlkStatus.Ok)
        {
            BlkMqEndRequest(request, status);
        }
    }

    /// <summary>Marks the queue dying (<c>blk_mark_disk_dead</c>): later submissions fail.</summary>
    public void MarkDying() => Volatile.Write(ref _dying, 1);

    /// <summary>
    /// Splits <paramref name="bio"/> (not at all when it fits one request, <c>bio_may_need_split</c>) and dispatches the
    /// pieces: as the bio's static requests when <paramref name="inflight"/> is null, else as requests of their own
    /// added to it.
    /// </summary>
    private BlkStatus SubmitBioCore(Bio bio, List<Request>? inflight)
    {
        if (IsDying)
        {
            return BlkStatus.IoErr;
        }

        if (FitsOneRequest(bio))
        {
            if (inflight is null)
            {
                bio.BeginSubmit(1);
                DispatchBio(bio, bio.Sector, bio.VecSpan, bio.Size);
            }
            else
            {
                DispatchNew(bio, bio.Sector, bio.VecSpan, bio.Size, inflight);
            }

            return BlkStatus.Ok;
        }

        BioSplitter splitter = BioSplitter.Rent();
        try
        {
            BlkStatus status = splitter.Split(bio, Limits);
            if (status != BlkStatus.Ok)
            {
                return status;
            }

            IReadOnlyList<BioSplitter.Piece> pieces = splitter.Pieces;
            if (inflight is null)
            {
                if (pieces.Count == 0)
                {
                    EndBioNow(bio, BlkStatus.Ok);
                    return BlkStatus.Ok;
                }

                bio.BeginSubmit(pieces.Count);
            }

            for (int i = 0; i < pieces.Count; i++)
            {
                BioSplitter.Piece piece = pieces[i];
                if (inflight is null)
                {
                    DispatchBio(bio, piece.Sector, splitter.Segments(piece), piece.Bytes);
                }
                else
                {
                    DispatchNew(bio, piece.Sector, splitter.Segments(piece), piece.Bytes, inflight);
                }
            }
        }
        finally
        {
            BioSplitter.Return(splitter);
        }

        return BlkStatus.Ok;
    }

    /// <summary>
    /// <c>bio_may_need_split</c> answered no: whole logical blocks within <see cref="QueueLimits.MaxHwBytes"/>, few
    /// enough segments, none too large, no gap — exactly what <see cref="BioSplitter.Split"/> would leave as one piece.
    /// </summary>
    private bool FitsOneRequest(Bio bio)
    {
        uint blockMask = Limits.LogicalBlockSize - 1;
        IReadOnlyList<BioVec> vecs = bio.Vecs;
        if (bio.Size == 0 || (bio.Size & blockMask) != 0 || bio.Size > (Limits.MaxHwBytes & ~(ulong)blockMask) || vecs.Count > Limits.MaxSegments)
        {
            return false;
        }

        for (int i = 0; i < vecs.Count; i++)
        {
            if (vecs[i].Length > Limits.MaxSegmentSize || (i > 0 && BioSplitter.HasGap(Limits, vecs[i - 1], vecs[i].Phys)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A piece of a bio as a request of its own, added to <paramref name="inflight"/> and dispatched.</summary>
    private void DispatchNew(Bio bio, ulong sector, ReadOnlySpan<BioVec> segments, uint bytes, List<Request> inflight)
    {
        var request = new Request(this, bio.Op, bio.Flags, sector, [.. segments], bytes);
        inflight.Add(request);
        Dispatch(request);
    }

    /// <summary>
    /// A piece of a bio as the static request of a tag on the next hardware queue (waiting for a tag as
    /// <see cref="Dispatch"/> does), passed to the driver. Without a tag, that piece of the bio ends with Again.
    /// </summary>
    private void DispatchBio(Bio bio, ulong sector, ReadOnlySpan<BioVec> segments, uint bytes)
    {
        BlkMqHwCtx hctx = TagSet.MapQueue();
        Request? request = hctx.TryGetStaticRequest(this);
        if (request is null)
        {
            BlkPlug.Current?.Flush(); // about to wait for a tag: what the plug holds must be able to complete
            request = hctx.TryGetStaticRequest(this);
        }

        for (int i = 0; request is null && i < TagSet.TimeoutPolls; i++)
        {
            TagSet.Ops.Poll(hctx);
            request = hctx.TryGetStaticRequest(this);
        }

        if (request is null)
        {
            bio.EndRequest(BlkStatus.Again);
            return;
        }

        request.Init(this, bio, sector, segments, bytes);
        if (bio.Cookie is not null && !ReferenceEquals(bio.Cookie, hctx))
        {
            bio.SpansQueues = true;
        }

        bio.Cookie = hctx;
        if (BlkPlug.Current is BlkPlug plug)
        {
            plug.Add(request);
            return;
        }

        bool uncommitted = false;
        Issue(hctx, request, last: true, ref uncommitted);
    }

    /// <summary>Gives the request a tag on the next hardware queue and passes it to the driver.</summary>
    private void Dispatch(Request request)
    {
        BlkMqHwCtx hctx = TagSet.MapQueue();
        request.Hctx = hctx;
        int tag = hctx.TryGetTag(request);
        for (int i = 0; tag < 0 && i < TagSet.TimeoutPolls; i++)
        {
            TagSet.Ops.Poll(hctx);
            tag = hctx.TryGetTag(request);
        }

        if (tag < 0)
        {
            request.Complete(BlkStatus.Again);
            return;
        }

        request.Tag = tag;
        bool uncommitted = false;
        Issue(hctx, request, last: true, ref uncommitted);
    }

    /// <summary>
    /// <c>blk_mq_flush_plug_list</c> for one hardware queue: the driver's <c>queue_rqs</c> takes what it can of
    /// <paramref name="requests"/>, then each request it left goes through <see cref="Issue"/>, the final one with
    /// <c>last</c>. The list then holds the requests that went through <see cref="Issue"/>.
    /// </summary>
    internal static void IssueList(BlkMqHwCtx hctx, List<Request> requests)
    {
        IBlkMqOps ops = hctx.TagSet.Ops;
        int handed = requests.Count;
        ops.QueueRqs(hctx, requests);
        if (requests.Count > handed)
        {
            throw new InvalidOperationException("queue_rqs added requests to the list it was given.");
        }

        hctx.CountDispatches(handed - requests.Count);
        bool uncommitted = false;
        for (int k = 0; k < requests.Count; k++)
        {
            Issue(hctx, requests[k], k == requests.Count - 1, ref uncommitted);
        }

        if (uncommitted)
        {
            ops.CommitRqs(hctx);
        }
    }

    /// <summary>
    /// <c>blk_mq_dispatch_rq_list</c> for one request: hands it to the driver, retrying a refusal for resources after a
    /// poll, and ending it with any other refusal. <paramref name="uncommitted"/> tracks requests of the same batch the
    /// driver took with <c>last</c> false: a refusal commits them first (<see cref="IBlkMqOps.CommitRqs"/>), so they can
    /// complete.
    /// </summary>
    /// <returns>True when the driver took the request.</returns>
    internal static bool Issue(BlkMqHwCtx hctx, Request request, bool last, ref bool uncommitted)
    {
        IBlkMqOps ops = hctx.TagSet.Ops;
        for (int attempt = 0; ; attempt++)
        {
            hctx.CountDispatches(1);
            BlkStatus status = ops.QueueRq(hctx, request, last);
            if (status == BlkStatus.Ok)
            {
                uncommitted = !last;
                return true;
            }

            if (uncommitted)
            {
                ops.CommitRqs(hctx);
                uncommitted = false;
            }

            if (status is not (BlkStatus.Resource or BlkStatus.DevResource) || attempt == ResourceRetries)
            {
                BlkMqEndRequest(request, status);
                return false;
            }

            ops.Poll(hctx);
        }
    }

    /// <summary>Ends a bio that never became requests.</summary>
    private static void EndBioNow(Bio bio, BlkStatus status)
    {
        bio.BeginSubmit(1);
        bio.EndRequest(status);
    }

    /// <summary><c>blk_mq_timeout_work</c> for one bio: the driver's timeout for each of its requests in flight, then TimeOut for those it did not end.</summary>
    private void TimeOutBio(Bio bio)
    {
        foreach (BlkMqHwCtx hctx in TagSet.HwQueues)
        {
            for (int tag = 0; tag < hctx.QueueDepth; tag++)
            {
                Request? request = hctx.TagToRq(tag);
                if (request is null || !ReferenceEquals(request.Bio, bio) || request.IsComplete)
                {
                    continue;
                }

                TagSet.Ops.Timeout(request);
                if (ReferenceEquals(hctx.TagToRq(tag), request) && ReferenceEquals(request.Bio, bio) && !request.IsComplete)
                {
                    BlkMqEndRequest(request, BlkStatus.TimeOut);
                }
            }
        }
    }
}
