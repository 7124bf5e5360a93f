using P2pEmu.Emulator.Host;

namespace P2pEmu.Dma.Block;

/// <summary>The <c>blk_errors</c> table of block/blk-core.c: between <see cref="BlkStatus"/> and errno.</summary>
public static class BlkErrors
{
    /// <summary>Linux <c>blk_status_to_errno</c> (positive here): None for OK.</summary>
    public static Errno BlkStatusToErrno(BlkStatus status) => status switch
    {
        BlkStatus.Ok => Errno.None,
        BlkStatus.NotSupp => Errno.EOPNOTSUPP,
        BlkStatus.TimeOut => Errno.ETIMEDOUT,
        BlkStatus.NoSpc => Errno.ENOSPC,
        BlkStatus.Target => Errno.EREMOTEIO,
        BlkStatus.Resource => Errno.ENOMEM,
        BlkStatus.Again => Errno.EAGAIN,
        BlkStatus.DevResource => Errno.EBUSY,
        BlkStatus.Offline => Errno.ENODEV,
        BlkStatus.Inval => Errno.EINVAL,
        _ => Errno.EIO,
    };

    /// <summary>Linux <c>errno_to_blk_status</c>: the status whose errno this is; IOERR for any other error.</summary>
    public static BlkStatus ErrnoToBlkStatus(Errno errno) => errno switch
    {
        Errno.None => BlkStatus.Ok,
        Errno.EOPNOTSUPP => BlkStatus.NotSupp,
        Errno.ETIMEDOUT => BlkStatus.TimeOut,
        Errno.ENOSPC => BlkStatus.NoSpc,
        Errno.EREMOTEIO => BlkStatus.Target,
        Errno.ENOMEM => BlkStatus.Resource,
        Errno.EAGAIN => BlkStatus.Again,
        Errno.EBUSY => BlkStatus.DevResource,
        Errno.ENODEV => BlkStatus.Offline,
        Errno.EINVAL => BlkStatus.Inval,
        _ => BlkStatus.IoErr,
    };
}
