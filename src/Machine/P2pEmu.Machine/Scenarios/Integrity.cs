using System;
using System.IO.Hashing;

namespace P2pEmu.Machine.Scenarios;

/// <summary>The scenarios' end-to-end check: XxHash3 over what is there against what must be there.</summary>
internal static class Integrity
{
    /// <summary>Null when <paramref name="actual"/> equals <paramref name="expected"/>; otherwise the first bad byte, in words.</summary>
    public static string? FirstMismatch(ReadOnlySpan<byte> actual, ReadOnlySpan<byte> expected)
    {
        if (XxHash3.HashToUInt64(actual) == XxHash3.HashToUInt64(expected))
        {
            return null;
        }

        int bad = actual.CommonPrefixLength(expected);
        return $"first bad byte at offset {bad}: expected 0x{expected[bad]:x2}, found 0x{actual[bad]:x2}";
    }
}
