using System.Numerics;
using System.Threading;

namespace P2pEmu.Dma.Block;

/// <summary>
/// Linux <c>struct blk_mq_hw_ctx</c> with its <c>blk_mq_tags</c>: one hardware queue of a tag set, the requests in
/// flight on it by tag, and the driver's queue (<see cref="DriverData"/>, e.g. the NVMe SQ/CQ pair).
/// </summary>
/// <remarks>
/// Tags are handed out lowest first, from a bitmap (Linux's <c>sbitmap</c>, without its per-CPU hints). Each tag has a
/// static request (<c>static_rqs</c>), made on the tag's first use, that carries bios.
/// Thread safety: tags are taken and released under one lock; <see cref="TagToRq"/> reads without it.
/// </remarks>
public sealed class BlkMqHwCtx
{
    private readonly Request?[] _tags;
    private readonly Request?[] _staticRqs;
    private readonly ulong[] _busy;
    private readonly Lock _lock = new();
    private long _dispatched;

    internal BlkMqHwCtx(int index, int queueDepth)
    {
        Index = index;
        _tags = new Request?[queueDepth];
        _staticRqs = new Request?[queueDepth];
        _busy = new ulong[(queueDepth + 63) / 64];
    }

    /// <summary><c>queue_num</c>: 0-based.</summary>
    public int Index { get; }

    /// <summary>How many requests can be in flight (the number of tags).</summary>
    public int QueueDepth => _tags.Length;

    /// <summary><c>driver_data</c>: set by the driver (<c>init_hctx</c>).</summary>
    public object? DriverData { get; set; }

    /// <summary>Requests handed to the driver on this queue so far (requeues included).</summary>
    public long Dispatched => Interlocked.Read(ref _dispatched);

    /// <summary>Requests in flight now.</summary>
    public int InFlight
    {
        get
        {
            lock (_lock)
            {
                int n = 0;
                foreach (Request? r in _tags)
                {
                    n += r is null ? 0 : 1;
                }

                return n;
            }
        }
    }

    /// <summary><c>blk_mq_tag_to_rq</c>: the request in flight with <paramref name="tag"/>, or null (a stale or bogus tag).</summary>
    public Request? TagToRq(int tag) => (uint)tag < (uint)_tags.Length ? Volatile.Read(ref _tags[tag]) : null;

    public override string ToString() => $"hctx{Index} ({InFlight}/{QueueDepth} in flight)";

    /// <summary>Takes the lowest free tag for <paramref name="request"/>; -1 when every tag is in use.</summary>
    internal int TryGetTag(Request request)
    {
        lock (_lock)
        {
            int tag = TakeLowestFree();
            if (tag >= 0)
            {
                Volatile.Write(ref _tags[tag], request);
            }

            return tag;
        }
    }

    /// <summary><c>blk_mq_get_tag</c> + <c>static_rqs[tag]</c>: the lowest free tag's static request, now in use; null when every tag is.</summary>
    internal Request? TryGetStaticRequest(RequestQueue queue)
    {
        lock (_lock)
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
    }

    internal void PutTag(Request request)
    {
        lock (_lock)
        {
            int tag = request.Tag;
            if (tag >= 0 && ReferenceEquals(_tags[tag], request))
            {
                Volatile.Write(ref _tags[tag], null);
                _busy[tag >> 6] &= ~(1UL << (tag & 63));
            }
        }
    }

    /// <summary>Marks the lowest free tag busy and returns it, or -1. The caller holds the lock.</summary>
    private int TakeLowestFree()
    {
        for (int word = 0; word < _busy.Length; word++)
        {
            ulong free = ~_busy[word];
            if (free == 0)
            {
                continue;
            }

            int tag = (word << 6) + BitOperations.TrailingZeroCount(free);
            if (tag >= _tags.Length)
            {
                return -1;
            }

            _busy[word] |= 1UL << (tag & 63);
            return tag;
        }

        return -1;
    }

    internal void CountDispatch() => Interlocked.Increment(ref _dispatched);
}
