namespace P2pEmu.Drivers.Nvme;

/// <summary>
/// The NVMe driver's module parameters and the emulator's stand-ins for time (Linux <c>nvme</c> and <c>nvme_core</c>
/// parameters of the same names, where they exist).
/// </summary>
public sealed record NvmeDriverOptions
{
    /// <summary>
    /// <c>use_cmb_sqes</c> (default true, as in Linux): put I/O submission queues in the controller memory buffer when
    /// it supports SQs. The controller fetches them internally, so this works wherever the CMB is registered.
    /// </summary>
    public bool UseCmbSqes { get; init; } = true;

    /// <summary>
    /// How many interrupt-driven I/O queue pairs to ask for (Linux: one per possible CPU), each with its own MSI-X
    /// vector. Without MSI-X they are polled.
    /// </summary>
    public int IoQueueCount { get; init; } = 4;

    /// <summary>
    /// <c>poll_queues</c>: I/O queue pairs created without interrupts (IEN clear) besides <see cref="IoQueueCount"/>;
    /// their completions are found only by polling. Deviations: requests go to every queue in turn (there is no
    /// <c>REQ_POLLED</c> I/O to steer to them), and <see cref="IoQueueCount"/> may be 0 for a driver that polls
    /// every I/O queue (Linux keeps at least one interrupt-driven queue).
    /// </summary>
    public int PollQueues { get; init; }

    /// <summary><c>io_queue_depth</c>: entries per I/O queue, capped by CAP.MQES + 1.</summary>
    public int IoQueueDepth { get; init; } = 1024;

    /// <summary>
    /// <c>sgl_threshold</c>: on a controller with SGLs, block I/O whose average segment is at least this many bytes
    /// goes as an SGL, smaller as PRPs; 0 keeps block I/O on PRPs. Passthrough commands use SGLs whenever the
    /// controller has them.
    /// </summary>
    public uint SglThreshold { get; init; } = 32 * 1024;

    /// <summary><c>nvme_core.max_retries</c>: how often a failed command without Do Not Retry is sent again.</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>
    /// The I/O timeout (<c>io_timeout</c>, 30 s in Linux) counted in completion polls, about a millisecond each: on an
    /// interrupt-driven queue a poll is one wait of up to <see cref="Dma.Block.RequestQueue.InterruptWaitMilliseconds"/>
    /// for the interrupt, on a poll queue one look at the completion queue (spinning and yielding at first, then
    /// sleeping 1 ms between empty looks). A deterministic machine completes inside the doorbell write, so a healthy
    /// controller never makes anyone wait.
    /// </summary>
    public int IoTimeoutPolls { get; init; } = 30_000;

    /// <summary>The admin command timeout (<c>admin_timeout</c>, 60 s in Linux) counted in completion polls, as <see cref="IoTimeoutPolls"/>.</summary>
    public int AdminTimeoutPolls { get; init; } = 60_000;

    /// <summary>CSTS polls per 500 ms unit of CAP.TO while waiting for the controller to become (not) ready or shut down.</summary>
    public int ReadyPollsPerTimeoutUnit { get; init; } = 50;
}
