using System;
using System.Collections.Generic;
using System.Threading;
using P2pEmu.Dma.Mapping;

namespace P2pEmu.Dma.Block;

/// <summary>
/// Linux <c>struct request</c> (blk-mq): one command a driver sends to its device — a range of sectors and the data
/// segments (bio_vecs) of the bio it came from, after the queue's limits split it — or a passthrough command.
/// </summary>
/// <remarks>
/// <para>
/// A request made from a bio (<see cref="RequestQueue.SubmitBio(Bio)"/>) is one of its hardware queue's static requests
/// (Linux <c>tags-&gt;static_rqs</c>): it is taken with its tag, and reused, with its driver data, once it ends. Other
/// requests (passthrough commands, <see cref="RequestQueue.SubmitBio(Bio, List{Request})"/>) are made for one use.
/// </para>
/// <para>
/// Thread safety: built and dispatched by the submitter; completed by whoever reaps the device's completion (the
/// submitter polling, or an interrupt handler on the device's thread). <see cref="IsComplete"/> is published with
/// release semantics, so a waiter that sees it also sees <see cref="Status"/>; <see cref="WaitForCompletion"/> sleeps
/// until then.
/// </para>
/// </remarks>
public sealed class Request
{
    private readonly List<BioVec> _segments;
    private int _complete;

    /// <summary>Created by the first waiter that has to sleep; completion pulses it (nobody waits in the common case).</summary>
    private object? _waitGate;

    internal Request(RequestQueue queue, ReqOp op, ReqFlags flags, ulong sector, List<BioVec> segments, uint payloadBytes)
    {
        Queue = queue;
        Op = op;
        Flags = flags;
        Sector = sector;
        _segments = segments;
        PayloadBytes = payloadBytes;
    }

    /// <summary>A hardware queue's static request for <paramref name="tag"/>, not in use.</summary>
    internal Request(BlkMqHwCtx hctx, int tag, RequestQueue queue)
    {
        Queue = queue;
        _segments = new List<BioVec>();
        Hctx = hctx;
        Tag = tag;
        _complete = 1;
    }

    /// <summary><c>rq-&gt;q</c>: the queue (and through <see cref="RequestQueue.QueueData"/>, the driver's disk) it belongs to.</summary>
    public RequestQueue Queue { get; private set; }

    public ReqOp Op { get; private set; }

    /// <summary><c>cmd_flags</c>; the DMA iterator turns <see cref="ReqFlags.P2pdma"/> into <see cref="ReqFlags.Mmio"/> for THRU_HOST_BRIDGE data.</summary>
    public ReqFlags Flags { get; internal set; }

    /// <summary><c>blk_rq_pos</c>: the first 512-byte sector.</summary>
    public ulong Sector { get; private set; }

    /// <summary>The data segments, in order (each physically contiguous).</summary>
    public IReadOnlyList<BioVec> Segments => _segments;

    /// <summary><c>blk_rq_payload_bytes</c>.</summary>
    public uint PayloadBytes { get; private set; }

    /// <summary><c>rq-&gt;bio</c>: the bio it carries (part of), which ends when its requests have; null for a passthrough command.</summary>
    public Bio? Bio { get; private set; }

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

    /// <summary>
    /// <c>wait_for_completion_io_timeout</c>: sleeps until the request completes (its driver's interrupt handler ends
    /// it) or <paramref name="timeoutMilliseconds"/> pass.
    /// </summary>
    /// <returns>Whether it is complete.</returns>
    public bool WaitForCompletion(int timeoutMilliseconds)
    {
        if (IsComplete)
        {
            return true;
        }

        // The gate is published (a full fence) before IsComplete is read again, and Complete sets IsComplete (a full
        // fence) before it looks for the gate: either the completer sees the gate and pulses it, or this sees IsComplete.
        object gate = LazyInitializer.EnsureInitialized(ref _waitGate);
        lock (gate)
        {
            if (!IsComplete)
            {
                Monitor.Wait(gate, timeoutMilliseconds);
            }
        }

        return IsComplete;
    }

    /// <summary>
    /// <c>blk_mq_rq_ctx_init</c> for a static request: it carries <paramref name="bytes"/> of <paramref name="bio"/> at
    /// <paramref name="sector"/> in <paramref name="segments"/> (copied), with nothing of its last use left but its
    /// tag, hardware queue and driver data.
    /// </summary>
    internal void Init(RequestQueue queue, Bio bio, ulong sector, ReadOnlySpan<BioVec> segments, uint bytes)
    {
        Queue = queue;
        Bio = bio;
        Op = bio.Op;
        Flags = bio.Flags;
        Sector = sector;
        PayloadBytes = bytes;
        _segments.Clear();
        _segments.AddRange(segments);

        Retries = 0;
        Status = BlkStatus.Ok;
        Volatile.Write(ref _complete, 0);
    }

    /// <summary>Records the status, then publishes completion and wakes a waiter. Returns false when it was already complete.</summary>
    internal bool Complete(BlkStatus status)
    {
        if (Volatile.Read(ref _complete) != 0)
        {
            return false;
        }

        Status = status;
        if (Interlocked.Exchange(ref _complete, 1) != 0)
        {
            return false;
        }

        if (Volatile.Read(ref _waitGate) is object gate)
        {
            lock (gate)
            {
                Monitor.PulseAll(gate);
            }
        }

        return true;
    }
}
