using System;

namespace P2pEmu.Dma.DmaBuf;

/// <summary>
/// Linux <c>struct dma_buf_attach_ops</c>: an importer's callbacks, which make its attachment dynamic.
/// </summary>
public sealed record DmaBufAttachOps
{
    /// <summary><c>allow_peer2peer</c>: the importer can use addresses of peer device memory (no struct pages).</summary>
    public bool AllowPeer2Peer { get; init; }

    /// <summary>
    /// <c>invalidate_mappings</c> (revoke-2026 name) — <c>move_notify</c> at v6.19. Called by the exporter with the
    /// reservation lock held, on the exporter's thread. The importer must stop using its mappings and unmap them:
    /// at v6.19 before returning (vfio relies on that); in revoke-2026 within bounded time (the exporter waits for the
    /// unmap). Afterwards a dynamic importer re-maps before any further DMA; the exporter's map fails while revoked.
    /// Required at v6.19 whenever importer ops are given; optional in revoke-2026 (without it the attachment is not
    /// revocable).
    /// </summary>
    public Action<DmaBufAttachment>? InvalidateMappings { get; init; }

    /// <summary><c>move_notify</c>, the v6.19 name of <see cref="InvalidateMappings"/> (the same callback).</summary>
    public Action<DmaBufAttachment>? MoveNotify
    {
        get => InvalidateMappings;
        init => InvalidateMappings = value;
    }
}
