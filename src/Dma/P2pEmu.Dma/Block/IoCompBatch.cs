using System;
using System.Collections.Generic;

namespace P2pEmu.Dma.Block;

/// <summary>
/// Linux <c>struct io_comp_batch</c>: the successful completions a poll found, kept to be ended together once the poll
/// is done, with the driver's <see cref="Complete"/> (as io_uring's iopoll passes one to <c>bio_poll</c> and runs
/// <c>iob.complete</c> afterwards). A driver adds a request with <see cref="RequestQueue.BlkMqAddToBatch"/> instead of
/// ending it; its completion unmaps each one and calls <see cref="RequestQueue.BlkMqEndRequestBatch"/>.
/// </summary>
/// <remarks>One poller owns a batch; it is reused from poll to poll and allocates nothing once warm.</remarks>
public sealed class IoCompBatch
{
    /// <summary><c>req_list</c>: the requests added, in completion order.</summary>
    public List<Request> Requests { get; } = new();

    /// <summary><c>complete</c>: the driver's batch completion, set by the first request added.</summary>
    public Action<IoCompBatch>? Complete { get; internal set; }

    /// <summary>Bios whose last request the batch ended, kept until their tags are released.</summary>
    internal List<Bio> EndedBios { get; } = new();

    public bool IsEmpty => Requests.Count == 0;

    /// <summary>Runs the driver's batch completion if any request was added (what the poller does after polling).</summary>
    public void CompleteBatch()
    {
        if (Requests.Count != 0)
        {
            Complete!(this);
        }
    }
}
