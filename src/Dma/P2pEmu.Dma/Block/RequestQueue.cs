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
/// with <see cref="BlkMqEndRequest"/>, and synchronous waiters poll the hardware queue for completions.
/// </summary>
/// <remarks>
/// Deviations: bios are never merged into one request (so <see cref="ReqFlags.NoMerge"/> is carried but changes
/// nothing) and there is no I/O scheduler or plugging; a dispatch that gets
/// <see cref="BlkStatus.Resource"/> is retried after a poll a bounded number of times, then ended with that status.
/// </remarks>
#pragma warning disable CA1711 // Linux's name.
public sealed class RequestQueue
#pragma warning restore CA1711
{
    /// <summary>How many times a dispatch refused for lack of resources is tried again before it fails.</summary>
    public const int ResourceRetries = 8;

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
    /// <c>submit_bio</c> without waiting: splits <paramref name="bio"/> by the limits and dispatches every piece,
    /// adding the requests to <paramref name="inflight"/>. The caller waits with <see cref="Wait"/>.
    /// </summary>
    /// <returns>Ok, or why the bio failed before any request was dispatched (Inval for a bio the limits cannot split, IoErr for a dying queue).</returns>
    public BlkStatus SubmitBio(Bio bio, List<Request> inflight)
    {
        ArgumentNullException.ThrowIfNull(bio);
        ArgumentNullException.ThrowIfNull(inflight);
        if (IsDying)
        {
            return BlkStatus.IoErr;
        }

        var pieces = new List<BioSplitter.Piece>();
        BlkStatus status = BioSplitter.Split(bio, Limits, pieces);
        if (status != BlkStatus.Ok)
        {
            return status;
        }

        foreach (BioSplitter.Piece piece in pieces)
        {
            var request = new Request(this, bio.Op, bio.Flags, piece.Sector, piece.Segments, piece.Bytes);
            inflight.Add(request);
            Dispatch(request);
        }

        return BlkStatus.Ok;
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
    /// Waits for <paramref name="request"/> by polling its hardware queue (<c>blk_mq_poll</c>); after
    /// <see cref="BlkMqTagSet.TimeoutPolls"/> polls the driver's <see cref="IBlkMqOps.Timeout"/> runs, and a request
    /// still not complete after it ends with <see cref="BlkStatus.TimeOut"/>.
    /// </summary>
    public BlkStatus Wait(Request request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var spinner = default(SpinWait);
        for (int i = 0; i < TagSet.TimeoutPolls && !request.IsComplete; i++)
        {
            if (request.Hctx is BlkMqHwCtx hctx && TagSet.Ops.Poll(hctx) == 0 && !request.IsComplete)
            {
                spinner.SpinOnce(sleep1Threshold: -1);
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

    /// <summary><c>blk_mq_end_request</c>: releases the request's tag and completes it with <paramref name="status"/>.</summary>
    public static void BlkMqEndRequest(Request request, BlkStatus status)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Hctx?.PutTag(request);
        request.Complete(status);
    }

    /// <summary>
    /// <c>blk_mq_requeue_request</c> + re-dispatch: sends a request the driver wants to retry to the driver again, on
    /// the same hardware queue and tag. If the driver refuses it now, it ends with the refusal's status.
    /// </summary>
    public void BlkMqRequeueRequest(Request request)
    {
        ArgumentNullException.ThrowIfNull(request);
        BlkMqHwCtx hctx = request.Hctx ?? throw new InvalidOperationException($"{request} was never dispatched.");
        hctx.CountDispatch();
        BlkStatus status = TagSet.Ops.QueueRq(hctx, request, last: true);
        if (status != BlkStatus.Ok)
        {
            BlkMqEndRequest(request, status);
        }
    }

    /// <summary>Marks the queue dying (<c>blk_mark_disk_dead</c>): later submissions fail.</summary>
    public void MarkDying() => Volatile.Write(ref _dying, 1);

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
        for (int attempt = 0; ; attempt++)
        {
            hctx.CountDispatch();
            BlkStatus status = TagSet.Ops.QueueRq(hctx, request, last: true);
            if (status == BlkStatus.Ok)
            {
                return;
            }

            if (status is not (BlkStatus.Resource or BlkStatus.DevResource) || attempt == ResourceRetries)
            {
                BlkMqEndRequest(request, status);
                return;
            }

            TagSet.Ops.Poll(hctx);
        }
    }
}
