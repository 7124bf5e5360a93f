using System;
using System.Linq;
using P2pEmu.Machine.Scenarios.Workload;
using Xunit;

namespace P2pEmu.Integration.Tests.Scenarios;

/// <summary>The check every scenario transfer ends with, fed targets that are right and targets that are not.</summary>
public sealed class DeliveryCheckTests
{
    private static readonly byte[] s_data = [.. Enumerable.Range(0, 40).Select(i => (byte)(100 + i))];
    private static readonly byte[] s_before = new byte[40];

    [Fact]
    public void DeliveredPrefixesOverTheOldBytes_AreRight()
    {
        byte[] now = (byte[])s_before.Clone();
        s_data.AsSpan(0, 10).CopyTo(now);
        s_data.AsSpan(10, 4).CopyTo(now.AsSpan(10));

        Assert.Null(DeliveryCheck.FirstMismatch(s_data, s_before, now, [10, 4, 0, 0], 10));
    }

    [Fact]
    public void AByteThatLandedInAChunkReportedUndelivered_IsNamed_WithItsOffsetAndBothValues()
    {
        byte[] now = (byte[])s_before.Clone();
        s_data.AsSpan(0, 10).CopyTo(now);
        now[27] = s_data[27]; // a byte after the fault

        string? mismatch = DeliveryCheck.FirstMismatch(s_data, s_before, now, [10, 0, 0, 0], 10);

        Assert.Equal("first bad byte at offset 27: expected 0x00, found 0x7f (chunk 2, not delivered)", mismatch);
    }

    [Fact]
    public void ACorruptedDeliveredByte_IsNamed()
    {
        byte[] now = (byte[])s_data.Clone();
        now[13] ^= 0xFF;

        string? mismatch = DeliveryCheck.FirstMismatch(s_data, s_before, now, [10, 10, 10, 10], 10);

        Assert.Equal($"first bad byte at offset 13: expected 0x{s_data[13]:x2}, found 0x{s_data[13] ^ 0xFF:x2} (chunk 1, delivered)", mismatch);
    }

    [Fact]
    public void DeliveryPastTheSource_IsAnArgumentError() =>
        Assert.Throws<ArgumentException>(() => DeliveryCheck.FirstMismatch(s_data, s_before, s_data, [10, 10, 10, 11], 10));
}
