using System;
using System.Linq;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Iommu.Hardware;
using Xunit;

namespace P2pEmu.Iommu.Tests.Hardware;

public sealed class IommuFaultLogTests
{
    private static IommuFault Fault(ulong address) =>
        new(0, new Bdf(1, 0, 0), 0, new DmaAddress(address), AccessKind.Write, IommuFaultReason.NotPresent, 4, 7);

    [Fact]
    public void Record_NumbersFaults_AndKeepsTheNewestInOrder()
    {
        var log = new IommuFaultLog(3);
        for (ulong i = 1; i <= 5; i++)
        {
            log.Record(Fault(i * 0x1000));
        }

        Assert.Equal(5, log.TotalCount);
        Assert.Equal(3, log.Count);
        Assert.Equal(new[] { 3L, 4L, 5L }, log.Snapshot().Select(f => f.Sequence));
        Assert.Equal(new[] { 0x3000UL, 0x4000UL, 0x5000UL }, log.Snapshot().Select(f => f.Address.Value));
        Assert.True(log.TryGetLast(out IommuFault last));
        Assert.Equal(5, last.Sequence);
    }

    [Fact]
    public void Clear_DropsRetainedRecords_ButNotTheTotal()
    {
        var log = new IommuFaultLog(4);
        log.Record(Fault(0x1000));
        log.Record(Fault(0x2000));

        log.Clear();

        Assert.Empty(log.Snapshot());
        Assert.False(log.TryGetLast(out _));
        Assert.Equal(2, log.TotalCount);
        log.Record(Fault(0x3000));
        Assert.Equal(3, Assert.Single(log.Snapshot()).Sequence);
    }

    [Fact]
    public void New_WithoutCapacity_Throws() => Assert.Throws<ArgumentOutOfRangeException>(() => new IommuFaultLog(0));

    [Fact]
    public void ToString_ReadsLikeAKernelLogLine() =>
        Assert.Equal("DMAR: [Write] Request device [0000:01:00.0] fault addr 0x1000 [fault reason NotPresent, level 4, domain 7]", Fault(0x1000).ToString());
}
