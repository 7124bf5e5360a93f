using System;
using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Xunit.Sdk;

namespace P2pEmu.Testing;

/// <summary>
/// End-to-end data checks: the two buffers are compared by XxHash3 and, when the hashes differ, the report names
/// the path, the first bad offset and the expected and actual bytes around it.
/// </summary>
public static class IntegrityAssert
{
    /// <summary>Bytes of context shown on each side of the first bad offset.</summary>
    public const int ContextBytes = 4;

    /// <summary>Fails unless <paramref name="actual"/> equals <paramref name="expected"/>.</summary>
    /// <exception cref="XunitException">The buffers differ in length or content.</exception>
    public static void Equal(string path, ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual)
    {
        string? mismatch = Mismatch(path, expected, actual);
        if (mismatch is not null)
        {
            throw new XunitException(mismatch);
        }
    }

    /// <summary>Null when the buffers are equal; otherwise the report <see cref="Equal"/> fails with.</summary>
    public static string? Mismatch(string path, ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual)
    {
        ulong expectedHash = XxHash3.HashToUInt64(expected);
        ulong actualHash = XxHash3.HashToUInt64(actual);
        if (expected.Length == actual.Length && expectedHash == actualHash)
        {
            return null;
        }

        int common = Math.Min(expected.Length, actual.Length);
        int bad = expected[..common].CommonPrefixLength(actual[..common]);
        var report = new StringBuilder();
        report.Append(CultureInfo.InvariantCulture, $"{path}: ");
        if (expected.Length != actual.Length)
        {
            report.Append(CultureInfo.InvariantCulture, $"length {actual.Length}, expected {expected.Length}; ");
        }

        report.Append(CultureInfo.InvariantCulture, $"first bad offset {bad} (0x{bad:x}): ");
        report.Append(CultureInfo.InvariantCulture, $"expected {Window(expected, bad)}, actual {Window(actual, bad)}; ");
        report.Append(CultureInfo.InvariantCulture, $"xxh3 expected {expectedHash:x16}, actual {actualHash:x16}");
        return report.ToString();
    }

    /// <summary>The bytes from <see cref="ContextBytes"/> before <paramref name="at"/> to as many after, the byte at it in brackets.</summary>
    private static string Window(ReadOnlySpan<byte> bytes, int at)
    {
        int from = Math.Max(0, at - ContextBytes);
        int to = Math.Min(bytes.Length, at + ContextBytes + 1);
        var text = new StringBuilder();
        for (int i = from; i < to; i++)
        {
            if (text.Length != 0)
            {
                text.Append(' ');
            }

            string hex = bytes[i].ToString("x2", CultureInfo.InvariantCulture);
            text.Append(i == at ? "[" + hex + "]" : hex);
        }

        return at >= bytes.Length ? $"{text} [end]".TrimStart() : text.ToString();
    }
}
