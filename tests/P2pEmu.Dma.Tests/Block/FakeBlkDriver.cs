using System.Collections.Generic;
using System.Linq;
using P2pEmu.Dma.Block;

namespace P2pEmu.Dma.Tests.Block;

/// <summary>
/// A blk-mq driver whose behaviour a test sets: it records what blk-mq hands it, refuses requests (the first few with
/// Resource, all with a status, or by sector), and completes them on poll with per-sector statuses — or never.
/// </summary>
internal sealed class FakeBlkDriver : IBlkMqOps
{
    private readonly List<Request> _pending = new();

    public bool CompleteOnPoll { get; init; } = true;

    /// <summary>Requests refused with Resource before any is accepted (blk-mq retries them).</summary>
    public int RefuseFirst { get; set; }

    /// <summary>A status every request is refused with; Ok accepts.</summary>
    public BlkStatus Refusal { get; init; } = BlkStatus.Ok;

    public Dictionary<ulong, BlkStatus> Statuses { get; } = new();

    public Dictionary<ulong, BlkStatus> Refuse { get; } = new();

    public List<Request> Queued { get; } = new();

    public List<bool> Last { get; } = new();

    public int Polls { get; private set; }

    public int Timeouts { get; private set; }

    public int Commits { get; private set; }

    /// <summary>Whether the driver has a <c>queue_rqs</c>: it then takes every batch but the sectors in <see cref="LeftByBatch"/>.</summary>
    public bool TakesBatches { get; init; }

    public HashSet<ulong> LeftByBatch { get; } = new();

    /// <summary>Each batch handed to <c>queue_rqs</c>, by sector, in the order given.</summary>
    public List<ulong[]> Batches { get; } = new();

    /// <summary>Requests <c>queue_rqs</c> took, in order.</summary>
    public List<Request> TakenInBatches { get; } = new();

    public BlkStatus QueueRq(BlkMqHwCtx hctx, Request request, bool last)
    {
        if (RefuseFirst > 0)
        {
            RefuseFirst--;
            return BlkStatus.Resource;
        }

        if (Refusal != BlkStatus.Ok)
        {
            return Refusal;
        }

        if (Refuse.TryGetValue(request.Sector, out BlkStatus refusal))
        {
            return refusal;
        }

        Queued.Add(request);
        Last.Add(last);
        _pending.Add(request);
        return BlkStatus.Ok;
    }

    public void CommitRqs(BlkMqHwCtx hctx) => Commits++;

    public void QueueRqs(BlkMqHwCtx hctx, List<Request> requests)
    {
        if (!TakesBatches)
        {
            return;
        }

        Batches.Add(requests.Select(r => r.Sector).ToArray());
        foreach (Request request in requests.Where(r => !LeftByBatch.Contains(r.Sector)))
        {
            TakenInBatches.Add(request);
            _pending.Add(request);
        }

        requests.RemoveAll(r => !LeftByBatch.Contains(r.Sector));
    }

    /// <summary>Whether a poll with a completion batch adds its successes to it (<c>blk_mq_add_to_batch</c>).</summary>
    public bool CompletesInBatches { get; init; }

    /// <summary>The size of each batch the driver's batch completion ended.</summary>
    public List<int> BatchesCompleted { get; } = new();

    public int Poll(BlkMqHwCtx hctx) => Poll(hctx, null);

    public int Poll(BlkMqHwCtx hctx, IoCompBatch? iob)
    {
        Polls++;
        if (!CompleteOnPoll)
        {
            return 0;
        }

        Request[] done = _pending.Where(r => r.Hctx == hctx).ToArray();
        foreach (Request r in done)
        {
            _pending.Remove(r);
            BlkStatus status = Statuses.GetValueOrDefault(r.Sector, BlkStatus.Ok);
            if (!CompletesInBatches || !RequestQueue.BlkMqAddToBatch(r, iob, status != BlkStatus.Ok, CompleteBatch))
            {
                RequestQueue.BlkMqEndRequest(r, status);
            }
        }

        return done.Length;
    }

    public void CompleteBatch(IoCompBatch iob)
    {
        BatchesCompleted.Add(iob.Requests.Count);
        RequestQueue.BlkMqEndRequestBatch(iob);
    }

    public void Timeout(Request request) => Timeouts++;
}
