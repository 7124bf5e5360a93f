using System.Collections.Generic;

namespace P2pEmu.Dma.Block;

/// <summary>
/// Linux <c>struct blk_plug</c>: while a plug is started on a thread (<c>blk_start_plug</c>), the requests of the bios
/// that thread submits get their tags but are held back; <see cref="Finish"/> (<c>blk_finish_plug</c>) hands them to
/// the driver together, each hardware queue's in submission order with <c>last</c> set only on its final one, so a
/// driver announces a batch once (one doorbell) instead of once per request.
/// </summary>
/// <remarks>
/// As in Linux, a plug started while another is current on the thread does nothing, a plug that fills up
/// (<see cref="MaxRequestCount"/>) is flushed on the spot, and a thread that is about to wait — for a bio, or for a
/// free tag — flushes its plug first. Not thread safe: a plug belongs to the thread that started it.
/// </remarks>
public sealed class BlkPlug
{
    /// <summary><c>BLK_MAX_REQUEST_COUNT</c>: a plug holding this many requests is flushed.</summary>
    public const int MaxRequestCount = 32;

    [System.ThreadStatic]
    private static BlkPlug? s_current;

    private List<Request?> _requests = new(MaxRequestCount);
    private List<Request?> _batch = new(MaxRequestCount);
    private readonly List<Request> _group = new(MaxRequestCount);
    private bool _active;
    private bool _flushing;

    /// <summary><c>current-&gt;plug</c>: the plug started on this thread, or null.</summary>
    public static BlkPlug? Current => s_current;

    /// <summary>Requests held back now.</summary>
    public int Count => _requests.Count;

    /// <summary><c>blk_start_plug</c>: the plug becomes this thread's current plug, unless one already is.</summary>
    public void Start()
    {
        if (s_current is null)
        {
            s_current = this;
            _active = true;
        }
    }

    /// <summary><c>blk_finish_plug</c>: dispatches what the plug holds and ends it (nothing, for a plug that never became current).</summary>
    public void Finish()
    {
        if (!_active)
        {
            return;
        }

        Flush();
        s_current = null;
        _active = false;
    }

    /// <summary><c>blk_add_rq_to_plug</c>.</summary>
    internal void Add(Request request)
    {
        _requests.Add(request);
        if (_requests.Count >= MaxRequestCount && !_flushing)
        {
            Flush();
        }
    }

    /// <summary>
    /// <c>blk_mq_flush_plug_list</c>: hands the requests to their drivers, one hardware queue at a time (in the order
    /// the queues first appear), each queue's requests in order with <c>last</c> on the final one. Requests added while
    /// it runs (a completion polled meanwhile whose <see cref="Bio.EndIo"/> submits) go out in the same flush.
    /// </summary>
    internal void Flush()
    {
        if (_flushing)
        {
            return;
        }

        _flushing = true;
        try
        {
            while (_requests.Count != 0)
            {
                (_requests, _batch) = (_batch, _requests);
                DispatchBatch(_batch);
                _batch.Clear();
            }
        }
        finally
        {
            _flushing = false;
        }
    }

    /// <summary>
    /// One hardware queue at a time, in the order the queues first appear: its requests in order, to the driver's
    /// <c>queue_rqs</c> and then, for those it left, <c>queue_rq</c> (<see cref="RequestQueue.IssueList"/>).
    /// </summary>
    private void DispatchBatch(List<Request?> batch)
    {
        List<Request> group = _group;
        for (int i = 0; i < batch.Count; i++)
        {
            BlkMqHwCtx? hctx = batch[i]?.Hctx;
            if (hctx is null)
            {
                continue; // went out with an earlier queue's requests
            }

            group.Clear();
            for (int j = i; j < batch.Count; j++)
            {
                Request? request = batch[j];
                if (request is not null && ReferenceEquals(request.Hctx, hctx))
                {
                    batch[j] = null;
                    group.Add(request);
                }
            }

            RequestQueue.IssueList(hctx, group);
        }
    }
}
