using System;
using System.IO.Hashing;
using Xunit.Sdk;

namespace P2pEmu.Integration.Tests.Integrity;

/// <summary>
/// The integrity suite's comparison: XxHash3 of both sides first, then, on a difference, a failure naming the path, the
/// first bad offset, and the expected and actual bytes around it.
/// </summary>
internal static class IntegrityAssert
{
    private const int Context = 8;

    public static void Equal(string path, ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual)
    {
        if (expected.Length == actual.Length && XxHash3.HashToUInt64(expected) == XxHash3.HashToUInt64(actual) && expected.SequenceEqual(actual))
        {
            return;
        }

        if (expected.Length != actual.Length)
        {
            throw new XunitException($"{path}: {actual.Length} bytes where {expected.Length} were expected");
        }

        int bad = expected.CommonPrefixLength(actual);
        int from = Math.Max(0, bad - Context);
        int to = Math.Min(expected.Length, bad + Context);
        throw new XunitException(
            $"{path}: first bad byte at offset {bad}: expected 0x{expected[bad]:x2}, actual 0x{actual[bad]:x2}; " +
            $"bytes {from}..{to - 1} expected {Convert.ToHexString(expected[from..to])}, actual {Convert.ToHexString(actual[from..to])}");
    }
}
