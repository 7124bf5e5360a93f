using System;
using System.IO.Hashing;

namespace P2pEmu.Integration.Tests.Pgmap;

/// <summary>End-to-end data checks: XxHash3 first, then the first bad offset for the report.</summary>
internal static class Integrity
{
    /// <summary>Null when <paramref name="actual"/> equals <paramref name="expected"/>; otherwise what differs, where, and on which path.</summary>
    public static string? Mismatch(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, string path)
    {
        if (expected.Length == actual.Length && XxHash3.HashToUInt64(expected) == XxHash3.HashToUInt64(actual))
        {
            return null;
        }

        int length = Math.Min(expected.Length, actual.Length);
        int bad = expected[..length].CommonPrefixLength(actual[..length]);
        return bad < length
            ? $"{path}: first bad byte at offset {bad}: expected 0x{expected[bad]:x2}, found 0x{actual[bad]:x2}"
            : $"{path}: length {actual.Length}, expected {expected.Length}";
    }
}
