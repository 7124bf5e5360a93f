using System;
using Xunit;
using Xunit.Sdk;

namespace P2pEmu.Integration.Tests.Integrity;

public sealed class IntegrityAssertTests
{
    [Fact]
    public void EqualBytes_Pass()
    {
        byte[] bytes = [1, 2, 3];

        IntegrityAssert.Equal("p", bytes, (byte[])bytes.Clone());
    }

    [Fact]
    public void ACorruptedByte_IsReportedWithThePath_TheOffset_AndBothSides()
    {
        byte[] expected = new byte[64];
        new Random(1).NextBytes(expected);
        byte[] actual = (byte[])expected.Clone();
        actual[20] ^= 0x5A;

        XunitException e = Assert.Throws<XunitException>(() => IntegrityAssert.Equal("nic1 -> host RAM (translate)", expected, actual));

        Assert.StartsWith($"nic1 -> host RAM (translate): first bad byte at offset 20: expected 0x{expected[20]:x2}, actual 0x{actual[20]:x2}; bytes 12..27 expected {Convert.ToHexString(expected, 12, 16)}, actual {Convert.ToHexString(actual, 12, 16)}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ALengthDifference_IsReported() =>
        Assert.Contains("2 bytes where 3 were expected", Assert.Throws<XunitException>(() => IntegrityAssert.Equal("p", new byte[3], new byte[2])).Message, StringComparison.Ordinal);
}
