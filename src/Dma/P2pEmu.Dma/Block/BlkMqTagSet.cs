using System;
using System.Collections.Generic;
using System.Threading;

namespace P2pEmu.Dma.Block;

/// <summary>
/// Linux <c>struct blk_mq_tag_set</c>: a driver's hardware queues and their tags, shared by every request queue
/// (disk) of one controller, and the driver's <see cref="IBlkMqOps"/>.
/// </summary>
/// <remarks>
/// Deviation: there are no CPUs to map to hardware queues. Each dispatch goes to the next hardware queue in turn,
/// as if successive submissions came from successive CPUs (<c>blk_mq_map_queues</c> spreads CPUs evenly).
/// </remarks>
public sealed class BlkMqTagSet
{
    private readonly BlkMqHwCtx[] _hctxs;
    private int _nextCpu = -1;

    /// <summary><c>blk_mq_alloc_tag_set</c>.</summary>
    /// <param name="nrHwQueues">Hardware queues (at least 1).</param>
    /// <param name="queueDepth">Tags per hardware queue (at least 1).</param>
    /// <param name="timeoutPolls">
    /// The request timeout, counted in completion polls: a synchronous waiter polls this many times before it calls
    /// <see cref="IBlkMqOps.Timeout"/>. Deviation: Linux counts jiffies; polls keep the emulator deterministic.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException">A count is below 1.</exception>
    public BlkMqTagSet(IBlkMqOps ops, int nrHwQueues, int queueDepth, int timeoutPolls)
    {
        ArgumentNullException.ThrowIfNull(ops);
        ArgumentOutOfRangeException.ThrowIfLessThan(nrHwQueues, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(queueDepth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(timeoutPolls, 1);
        Ops = ops;
        TimeoutPolls = timeoutPolls;
        _hctxs = new BlkMqHwCtx[nrHwQueues];
        for (int i = 0; i < nrHwQueues; i++)
        {
            _hctxs[i] = new BlkMqHwCtx(this, i, queueDepth);
        }
    }

    public IBlkMqOps Ops { get; }

    /// <summary><c>nr_hw_queues</c>.</summary>
    public int NrHwQueues => _hctxs.Length;

    public IReadOnlyList<BlkMqHwCtx> HwQueues => _hctxs;

    /// <summary>The request timeout in completion polls.</summary>
    public int TimeoutPolls { get; }

    /// <summary>The hardware queue the next submission goes to (see the remarks).</summary>
    internal BlkMqHwCtx MapQueue()
    {
        if (_hctxs.Length == 1)
        {
            return _hctxs[0];
        }

        uint cpu = unchecked((uint)Interlocked.Increment(ref _nextCpu));
        return _hctxs[cpu % (uint)_hctxs.Length];
    }
}
