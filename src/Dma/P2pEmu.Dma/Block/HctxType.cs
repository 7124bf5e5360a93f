namespace P2pEmu.Dma.Block;

/// <summary>Linux <c>enum hctx_type</c>: how a hardware queue's requests complete.</summary>
public enum HctxType
{
    /// <summary><c>HCTX_TYPE_DEFAULT</c>: the driver's interrupt handler completes requests.</summary>
    Default,

    /// <summary><c>HCTX_TYPE_POLL</c>: requests complete only when the queue is polled (no interrupt).</summary>
    Poll,
}
