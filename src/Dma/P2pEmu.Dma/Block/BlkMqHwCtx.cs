using System.Threading;

namespace P2pEmu.Dma.Block;

/// <summary>
/// Linux <c>struct blk_mq_hw_ctx</c> with its <c>blk_mq_tags</c>: one hardware queue of a tag set, the requests in
/// flight on it by tag, and the driver's queue (<see cref="DriverData"/>, e.g. the NVMe SQ/CQ pair).
/// </summary>
/// <remarks>Thread safety: tags are taken and released under one lock; <see cref="TagToRq"/> reads without it.</remarks>
public sealed class BlkMqHwCtx
{
    private readonly Request?[] _tags;
    private readonly Lock _lock = new();
    private long _dispatched;

    internal BlkMqHwCtx(int index, int queueDepth)
    {
        Index = index;
        _tags = new Request?[queueDepth];
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

    internal int TryGetTag(Request request)
    {
        lock (_lock)
        {
            for (int tag = 0; tag < _tags.Length; tag++)
            {
                if (_tags[tag] is null)
                {
                    Volatile.Write(ref _tags[tag], request);
                    return tag;
                }
            }
        }

        return -1;
    }

    internal void PutTag(Request request)
    {
        lock (_lock)
        {
            if (request.Tag >= 0 && ReferenceEquals(_tags[request.Tag], request))
            {
                Volatile.Write(ref _tags[request.Tag], null);
            }
        }
    }

    internal void CountDispatch() => Interlocked.Increment(ref _dispatched);
}
