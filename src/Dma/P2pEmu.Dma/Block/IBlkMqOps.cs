using System.Collections.Generic;

namespace P2pEmu.Dma.Block;

/// <summary>
/// Linux <c>struct blk_mq_ops</c>: what a block driver gives blk-mq. The driver completes a request by calling
/// <see cref="RequestQueue.BlkMqEndRequest"/> (or sends it again with <see cref="RequestQueue.BlkMqRequeueRequest"/>)
/// from its completion path, which <see cref="Poll(BlkMqHwCtx)"/> runs on a poll queue and its interrupt handler runs otherwise.
/// </summary>
public interface IBlkMqOps
{
    /// <summary>
    /// <c>queue_rq</c>: prepares <paramref name="request"/> (maps its data) and hands it to the hardware queue.
    /// With <paramref name="last"/> false more requests for the same hardware queue follow at once (a plug is being
    /// flushed), so the driver may hold back announcing it (the doorbell) until the last one or <see cref="CommitRqs"/>.
    /// Ok means it is in flight; <see cref="BlkStatus.Resource"/>/<see cref="BlkStatus.DevResource"/> ask blk-mq to
    /// try again later; any other status ends the request with it (nothing reached the device).
    /// </summary>
    BlkStatus QueueRq(BlkMqHwCtx hctx, Request request, bool last);

    /// <summary>
    /// <c>commit_rqs</c>: announce to the device the requests <see cref="QueueRq"/> accepted with <c>last</c> false, when
    /// the batch they belong to ended without a request sent with <c>last</c> (one was refused). The default does
    /// nothing, for a driver that announces every request at once.
    /// </summary>
    void CommitRqs(BlkMqHwCtx hctx)
    {
    }

    /// <summary>
    /// <c>queue_rqs</c>: a flushed plug's requests for one hardware queue, in submission order, for a driver that takes
    /// a batch under one lock with one doorbell. The driver removes from <paramref name="requests"/> each request it took
    /// (it adds none); blk-mq then hands every request left to <see cref="QueueRq"/>, one by one, as Linux does with the
    /// list <c>queue_rqs</c> leaves behind. The default takes none, for a driver without the hook.
    /// </summary>
    void QueueRqs(BlkMqHwCtx hctx, List<Request> requests)
    {
    }

    /// <summary><c>poll</c>: reaps the hardware queue's completions; returns how many it found.</summary>
    int Poll(BlkMqHwCtx hctx);

    /// <summary>
    /// <c>poll</c> with an <c>io_comp_batch</c>: a driver that batches adds its successful completions to
    /// <paramref name="iob"/> (<see cref="RequestQueue.BlkMqAddToBatch"/>) instead of ending them. The default ends
    /// them as <see cref="Poll(BlkMqHwCtx)"/> does, for a driver that does not batch.
    /// </summary>
    int Poll(BlkMqHwCtx hctx, IoCompBatch? iob) => Poll(hctx);

    /// <summary>
    /// <c>timeout</c>: <paramref name="request"/> did not complete in time. The driver ends it (or recovers the
    /// controller so it ends); if it is still not complete afterwards, blk-mq ends it with <see cref="BlkStatus.TimeOut"/>.
    /// </summary>
    void Timeout(Request request);
}
