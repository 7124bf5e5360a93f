using System;
using System.Numerics;
using System.Threading;

namespace P2pEmu.Dma.Block;

/// <summary>
/// Linux <c>struct blk_mq_hw_ctx</c> with its <c>blk_mq_tags</c>: one hardware queue of a tag set, the requests in
/// flight on it by tag, and the driver's queue (<see cref="DriverData"/>, e.g. the NVMe SQ/CQ pair).
/// </summary>
/// <remarks>
/// Tags are handed out lowest first from a bitmap of busy tags (Linux's <c>sbitmap</c>, without its per-CPU hints).
/// Each tag has a static request (<c>static_rqs</c>), made on the tag's first use, that carries bios.
/// Thread safety: tags are taken and released without a lock (compare-and-swap on the bitmap; a request's slot is
/// cleared before its bit); <see cref="TagToRq"/> reads the slots.
/// </remarks>
public sealed class BlkMqHwCtx
{
    private readonly Request?[] _tags;
    private readonly Request?[] _staticRqs;
    private readonly ulong[] _busy;
    private long _dispatched;

    internal BlkMqHwCtx(BlkMqTagSet tagSet, int index, int queueDepth)
    {
        TagSet = tagSet;
        Index = index;
        _tags = new Request?[queueDepth];
        _staticRqs = new Request?[queueDepth];
        _busy = new ulong[(queueDepth + 63) / 64];
        int spare = (_busy.Length * 64) - queueDepth;
        if (spare != 0)
        {
            _busy[^1] = ~0UL << (64 - spare); // bits past the last tag are never free
        }
    }

    /// <summary>The tag set it belongs to.</summary>
    public BlkMqTagSet TagSet { get; }

    /// <summary><c>queue_num</c>: 0-based.</summary>
    public int Index { get; }

    /// <summary>How many requests can be in flight (the number of tags).</summary>
    public int QueueDepth => _tags.Length;

    /// <summary><c>driver_data</c>: set by the driver (<c>init_hctx</c>).</summary>
    public object? DriverData { get; set; }

    /// <summary>
    /// <c>hctx-&gt;type</c>: <see cref="HctxType.Poll"/> queues complete only when polled, so a waiter polls them;
    /// <see cref="HctxType.Default"/> queues are completed by the driver's interrupt handler, and a waiter sleeps.
    /// Deviation: a new hardware queue is a poll queue until its driver says otherwise, so a driver without
    /// interrupts sets nothing.
    /// </summary>
    public HctxType Type { get; set; } = HctxType.Poll;

    /// <summary>Requests handed to the driver on this queue so far (requeues included).</summary>
    public long Dispatched => Interlocked.Read(ref _dispatched);

    /// <summary>Requests in flight now.</summary>
    public int InFlight
    {
        get
        {
            int n = 0;
            for (int tag = 0; tag < _tags.Length; tag++)
            {
                n += Volatile.Read(ref _tags[tag]) is null ? 0 : 1;
            }

            return n;
        }
    }

    /// <summary><c>blk_mq_tag_to_rq</c>: the request in flight with <paramref name="tag"/>, or null (a stale or bogus tag).</summary>
    public Request? TagToRq(int tag) => (uint)tag < (uint)_tags.Length ? Volatile.Read(ref _tags[tag]) : null;

    public override string ToString() => $"hctx{Index} ({InFlight}/{QueueDepth} in flight)";

    /// <summary>Takes the lowest free tag for <paramref name="request"/>; -1 when every tag is in use.</summary>
    internal int TryGetTag(Request request)
    {
        int tag = TakeLowestFree();
        if (tag >= 0)
        {
            Volatile.Write(ref _tags[tag], request);
        }

        return tag;
    }

    /// <summary><c>blk_mq_get_tag</c> + <c>static_rqs[tag]</c>: the lowest free tag's static request, now in use; null when every tag is.</summary>
    internal Request? TryGetStaticRequest(RequestQueue queue)
    {
        int tag = TakeLowestFree();
        if (tag < 0)
        {
            return null;
        }

        Request request = _staticRqs[tag] ??= new Request(this, tag, queue);
        Volatile.Write(ref _tags[tag], request);
        return request;
    }

    /// <summary>Releases <paramref name="request"/>'s tag, if the request still holds it.</summary>
    internal void PutTag(Request request)
    {
        int tag = request.Tag;
        if (tag >= 0 && ReferenceEquals(Interlocked.CompareExchange(ref _tags[tag], null, request), request))
        {
            Interlocked.And(ref _busy[tag >> 6], ~(1UL << (tag & 63)));
        }
    }

    /// <summary>
    /// <c>blk_mq_put_tags</c> for requests the batch completion ended (each still holding its tag): clears their slots,
    /// then their busy bits with one atomic operation per bitmap word, as <c>sbitmap_queue_clear_batch</c> does.
    /// </summary>
    internal void PutTags(ReadOnlySpan<int> tags)
    {
        int word = -1;
        ulong mask = 0;
        foreach (int tag in tags)
        {
            Volatile.Write(ref _tags[tag], null);
            if (tag >> 6 != word)
            {
                ClearBusy(word, mask);
                word = tag >> 6;
                mask = 0;
            }

            mask |= 1UL << (tag & 63);
        }

        ClearBusy(word, mask);
    }

    internal void CountDispatches(int count)
    {
        if (count != 0)
        {
            Interlocked.Add(ref _dispatched, count);
        }
    }

    private void ClearBusy(int word, ulong mask)
    {
        if (mask != 0)
        {
            Interlocked.And(ref _busy[word], ~mask);
        }
    }

    /// <summary>Marks the lowest free tag busy and returns it, or -1.</summary>
    private int TakeLowestFree()
    {
        for (int word = 0; word < _busy.Length; word++)
        {
            while (true)
            {
                ulong busy = Volatile.Read(ref _busy[word]);
                ulong free = ~busy;
                if (free == 0)
                {
                    break;
                }

                int lowest = BitOperations.TrailingZeroCount(free);
                if (Interlocked.CompareExchange(ref _busy[word], busy | (1UL << lowest), busy) == busy)
                {
                    return (word << 6) + lowest;
                }
            }
        }

        return -1;
    }
}
