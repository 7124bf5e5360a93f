using System;
using P2pEmu.Testing;
using Xunit;
using Xunit.Sdk;

namespace P2pEmu.Integration.Tests.Integrity;

/// <summary>The checker itself: a corrupted buffer fails with the path, the first bad offset and the bytes around it.</summary>
public sealed class IntegrityAssertTests
{
    [Fact]
    public void Equal_SameBytes_Passes()
    {
        byte[] data = { 1, 2, 3, 4, 5 };

        IntegrityAssert.Equal("same", data, (byte[])data.Clone());
    }

    [Fact]
    public void Equal_OneCorruptedByte_NamesPathOffsetAndBytes()
    {
        byte[] expected = new byte[4097];
        for (int i = 0; i < expected.Length; i++)
        {
            expected[i] = unchecked((byte)i);
        }

        byte[] actual = (byte[])expected.Clone();
        actual[1000] = 0xee;
        actual[3000] = 0xdd;

        XunitException failure = Assert.Throws<XunitException>(() => IntegrityAssert.Equal("nvme0 -> host RAM", expected, actual));

        Assert.StartsWith("nvme0 -> host RAM: ", failure.Message, StringComparison.Ordinal);
        Assert.Contains("first bad offset 1000 (0x3e8)", failure.Message, StringComparison.Ordinal);
        Assert.Contains("expected e4 e5 e6 e7 [e8] e9 ea eb ec", failure.Message, StringComparison.Ordinal);
        Assert.Contains("actual e4 e5 e6 e7 [ee] e9 ea eb ec", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Equal_ShortActual_ReportsLengthAndTheEnd()
    {
        byte[] expected = { 10, 11, 12, 13 };
        byte[] actual = { 10, 11 };

        XunitException failure = Assert.Throws<XunitException>(() => IntegrityAssert.Equal("short", expected, actual));

        Assert.Contains("length 2, expected 4", failure.Message, StringComparison.Ordinal);
        Assert.Contains("first bad offset 2", failure.Message, StringComparison.Ordinal);
        Assert.Contains("expected 0a 0b [0c] 0d", failure.Message, StringComparison.Ordinal);
        Assert.Contains("actual 0a 0b [end]", failure.Message, StringComparison.Ordinal);
    }
}
