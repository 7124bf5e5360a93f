namespace P2pEmu.Dma.Block;

/// <summary>
/// Linux <c>struct blk_mq_ops</c>: what a block driver gives blk-mq. The driver completes a request by calling
/// <see cref="RequestQueue.BlkMqEndRequest"/> (or sends it again with <see cref="RequestQueue.BlkMqRequeueRequest"/>)
/// from its completion path, which <see cref="Poll"/> runs and, with interrupts, an interrupt handler would.
/// </summary>
public interface IBlkMqOps
{
    /// <summary>
    /// <c>queue_rq</c>: prepares <paramref name="request"/> (maps its data) and hands it to the hardware queue.
    /// Ok means it is in flight; <see cref="BlkStatus.Resource"/>/<see cref="BlkStatus.DevResource"/> ask blk-mq to
    /// try again later; any other status ends the request with it (nothing reached the device).
    /// </summary>
    BlkStatus QueueRq(BlkMqHwCtx hctx, Request request, bool last);

    /// <summary><c>poll</c>: reaps the hardware queue's completions; returns how many it found.</summary>
    int Poll(BlkMqHwCtx hctx);

    /// <summary>
    /// <c>timeout</c>: <paramref name="request"/> did not complete in time. The driver ends it (or recovers the
    /// controller so it ends); if it is still not complete afterwards, blk-mq ends it with <see cref="BlkStatus.TimeOut"/>.
    /// </summary>
    void Timeout(Request request);
}
