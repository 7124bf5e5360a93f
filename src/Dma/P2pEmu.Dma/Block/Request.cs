using System.Collections.Generic;
using System.Threading;
using P2pEmu.Dma.Mapping;

namespace P2pEmu.Dma.Block;

/// <summary>
/// Linux <c>struct request</c> (blk-mq): one command a driver sends to its device — a range of sectors and the data
/// segments (bio_vecs) of the bio it came from, after the queue's limits split it — or a passthrough command.
/// </summary>
/// <remarks>
/// Thread safety: built and dispatched by the submitter; completed by whoever reaps the device's completion (the
/// submitter polling, or later an interrupt handler). <see cref="IsComplete"/> is published last with release
/// semantics, so a waiter that sees it also sees <see cref="Status"/>.
/// </remarks>
public sealed class Request
{
    private readonly List<BioVec> _segments;
    private int _complete;

    internal Request(RequestQueue queue, ReqOp op, ReqFlags flags, ulong sector, List<BioVec> segments, uint payloadBytes)
    {
        Queue = queue;
        Op = op;
        Flags = flags;
        Sector = sector;
        _segments = segments;
        PayloadBytes = payloadBytes;
    }

    /// <summary><c>rq-&gt;q</c>: the queue (and through <see cref="RequestQueue.QueueData"/>, the driver's disk) it belongs to.</summary>
    public RequestQueue Queue { get; }

    public ReqOp Op { get; }

    /// <summary><c>cmd_flags</c>; the DMA iterator turns <see cref="ReqFlags.P2pdma"/> into <see cref="ReqFlags.Mmio"/> for THRU_HOST_BRIDGE data.</summary>
    public ReqFlags Flags { get; internal set; }

    /// <summary><c>blk_rq_pos</c>: the first 512-byte sector.</summary>
    public ulong Sector { get; }

    /// <summary>The data segments, in order (each physically contiguous).</summary>
    public IReadOnlyList<BioVec> Segments => _segments;

    /// <summary><c>blk_rq_payload_bytes</c>.</summary>
    public uint PayloadBytes { get; }

    /// <summary><c>blk_rq_nr_phys_segments</c>.</summary>
    public int NrPhysSegments => _segments.Count;

    /// <summary><c>rq_dma_dir</c>: to the device for writes, from it for reads.</summary>
    public DmaDirection DmaDirection => Op is ReqOp.Write or ReqOp.DrvOut ? DmaDirection.ToDevice : DmaDirection.FromDevice;

    /// <summary>The hardware queue it was dispatched to (null before dispatch).</summary>
    public BlkMqHwCtx? Hctx { get; internal set; }

    /// <summary>The driver tag (<c>rq-&gt;tag</c>), -1 before dispatch.</summary>
    public int Tag { get; internal set; } = -1;

    /// <summary>How often the driver sent it again after a retryable error (<c>nvme_req(req)-&gt;retries</c>).</summary>
    public int Retries { get; set; }

    /// <summary>The driver's per-request data (<c>blk_mq_rq_to_pdu</c>).</summary>
    public object? Pdu { get; set; }

    /// <summary>How it ended; valid once <see cref="IsComplete"/>.</summary>
    public BlkStatus Status { get; private set; }

    /// <summary>True once <see cref="RequestQueue.BlkMqEndRequest"/> ran.</summary>
    public bool IsComplete => Volatile.Read(ref _complete) != 0;

    /// <summary><c>blk_noretry_request</c>.</summary>
    public bool NoRetry => (Flags & ReqFlags.FailfastDriver) != 0;

    public override string ToString() => $"{Op} sector {Sector} +{PayloadBytes} ({_segments.Count} segments) tag {Tag}";

    /// <summary>Records the status, then publishes completion. Returns false when it was already complete.</summary>
    internal bool Complete(BlkStatus status)
    {
        if (Volatile.Read(ref _complete) != 0)
        {
            return false;
        }

        Status = status;
        return Interlocked.Exchange(ref _complete, 1) == 0;
    }
}
