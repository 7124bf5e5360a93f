namespace P2pEmu.Dma.DmaBuf;

/// <summary>
/// Linux <c>enum dma_resv_usage</c>: why a fence is in a reservation object. Waiting for one usage waits for every
/// fence of that usage and of the usages before it.
/// </summary>
public enum DmaResvUsage
{
    /// <summary>Kernel memory management (moves, clears): every user must wait for these.</summary>
    Kernel = 0,

    /// <summary>Implicit-sync writers.</summary>
    Write = 1,

    /// <summary>Implicit-sync readers.</summary>
    Read = 2,

    /// <summary>Everything else, e.g. explicitly synchronized device work; only eviction and revoke wait for these.</summary>
    Bookkeep = 3,
}
