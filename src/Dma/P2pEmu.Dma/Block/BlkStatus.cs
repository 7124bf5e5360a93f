namespace P2pEmu.Dma.Block;

/// <summary>
/// Linux <c>blk_status_t</c>: how a block request ended, with the kernel's numeric values. Only the statuses whose
/// errno the emulator models are listed; <see cref="BlkErrors.BlkStatusToErrno"/> maps them.
/// </summary>
public enum BlkStatus : byte
{
    /// <summary><c>BLK_STS_OK</c>.</summary>
    Ok = 0,

    /// <summary><c>BLK_STS_NOTSUPP</c>: EOPNOTSUPP.</summary>
    NotSupp = 1,

    /// <summary><c>BLK_STS_TIMEOUT</c>: ETIMEDOUT.</summary>
    TimeOut = 2,

    /// <summary><c>BLK_STS_NOSPC</c>: ENOSPC.</summary>
    NoSpc = 3,

    /// <summary><c>BLK_STS_TARGET</c>: EREMOTEIO ("critical target" error, e.g. an LBA out of range).</summary>
    Target = 5,

    /// <summary><c>BLK_STS_RESOURCE</c>: ENOMEM (a kernel resource ran out; blk-mq retries the dispatch).</summary>
    Resource = 9,

    /// <summary><c>BLK_STS_IOERR</c>: EIO.</summary>
    IoErr = 10,

    /// <summary><c>BLK_STS_AGAIN</c>: EAGAIN.</summary>
    Again = 12,

    /// <summary><c>BLK_STS_DEV_RESOURCE</c>: EBUSY (a device resource ran out; blk-mq retries the dispatch).</summary>
    DevResource = 13,

    /// <summary><c>BLK_STS_OFFLINE</c>: ENODEV.</summary>
    Offline = 16,

    /// <summary><c>BLK_STS_INVAL</c>: EINVAL (e.g. P2P memory the device cannot reach, spec §3.4).</summary>
    Inval = 19,
}
