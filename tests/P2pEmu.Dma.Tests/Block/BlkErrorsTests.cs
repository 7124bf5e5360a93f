using System;
using P2pEmu.Dma.Block;
using P2pEmu.Emulator.Host;
using Xunit;

namespace P2pEmu.Dma.Tests.Block;

public sealed class BlkErrorsTests
{
    [Theory]
    [InlineData(BlkStatus.Ok, Errno.None)]
    [InlineData(BlkStatus.NotSupp, Errno.EOPNOTSUPP)]
    [InlineData(BlkStatus.TimeOut, Errno.ETIMEDOUT)]
    [InlineData(BlkStatus.NoSpc, Errno.ENOSPC)]
    [InlineData(BlkStatus.Target, Errno.EREMOTEIO)]
    [InlineData(BlkStatus.Resource, Errno.ENOMEM)]
    [InlineData(BlkStatus.IoErr, Errno.EIO)]
    [InlineData(BlkStatus.Again, Errno.EAGAIN)]
    [InlineData(BlkStatus.DevResource, Errno.EBUSY)]
    [InlineData(BlkStatus.Offline, Errno.ENODEV)]
    [InlineData(BlkStatus.Inval, Errno.EINVAL)]
    public void BlkStatusToErrno_IsTheKernelTable_AndErrnoToBlkStatusInvertsIt(BlkStatus status, Errno errno)
    {
        Assert.Equal(errno, BlkErrors.BlkStatusToErrno(status));
        Assert.Equal(status, BlkErrors.ErrnoToBlkStatus(errno));
    }

    [Fact]
    public void ErrnoWithoutAStatus_IsIoErr()
    {
        Assert.Equal(BlkStatus.IoErr, BlkErrors.ErrnoToBlkStatus(Errno.EFAULT));
        Assert.All(Enum.GetValues<BlkStatus>(), s => Assert.Equal(s == BlkStatus.Ok, BlkErrors.BlkStatusToErrno(s) == Errno.None));
    }
}
