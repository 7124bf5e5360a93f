namespace P2pEmu.Drivers.Nvme;

/// <summary>
/// The NVMe driver's module parameters and the emulator's stand-ins for time (Linux <c>nvme</c> and <c>nvme_core</c>
/// parameters of the same names, where they exist).
/// </summary>
public sealed record NvmeDriverOptions
{
    /// <summary>
    /// <c>use_cmb_sqes</c>: put I/O submission queues in the controller memory buffer when it supports SQs.
    /// Deviation: Linux defaults to true; here the default is false because the emulated controller fetches
    /// entries from its own CMB through the fabric (see docs/nvme-driver.md), which a switch port without ACS UF
    /// or a translating IOMMU refuses.
    /// </summary>
    public bool UseCmbSqes { get; init; }

    /// <summary>How many I/O queue pairs to ask for (Linux: one per possible CPU).</summary>
    public int IoQueueCount { get; init; } = 4;

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
    /// The I/O timeout (<c>io_timeout</c>, 30 s in Linux) counted in completion polls. The model completes inline,
    /// so a healthy controller answers on the first poll.
    /// </summary>
    public int IoTimeoutPolls { get; init; } = 100_000;

    /// <summary>The admin command timeout (<c>admin_timeout</c>, 60 s in Linux) counted in completion polls.</summary>
    public int AdminTimeoutPolls { get; init; } = 100_000;

    /// <summary>CSTS polls per 500 ms unit of CAP.TO while waiting for the controller to become (not) ready or shut down.</summary>
    public int ReadyPollsPerTimeoutUnit { get; init; } = 50;
}
