using System;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace P2pEmu.Emulator.Topology.Json;

/// <summary>
/// Topology-file sizes: a whole number of bytes with an optional binary suffix (KiB, MiB, GiB, TiB).
/// Decimal suffixes (K, M, G, KB, MB, GB) are rejected on purpose: "64MB" is ambiguous, and a BAR size
/// that is off by a factor of 1.048576 is not a power of two.
/// </summary>
public static class SizeText
{
    private const string Accepted = "use a whole number of bytes with an optional KiB, MiB, GiB or TiB suffix (powers of 1024), e.g. \"64MiB\"";

    private static readonly (string Suffix, int Shift)[] s_suffixes =
    [
        ("TiB", 40),
        ("GiB", 30),
        ("MiB", 20),
        ("KiB", 10),
    ];

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="problem"/> says why, quoting the text.</summary>
    public static bool TryParse(string text, out ulong bytes, [NotNullWhen(false)] out string? problem)
    {
        bytes = 0;
        ReadOnlySpan<char> span = text.AsSpan().Trim();
        int digits = 0;
        while (digits < span.Length && char.IsAsciiDigit(span[digits]))
        {
            digits++;
        }

        if (digits == 0)
        {
            problem = $"\"{text}\" is not a size; {Accepted}";
            return false;
        }

        ReadOnlySpan<char> suffix = span[digits..].TrimStart();
        int shift = 0;
        if (suffix.Length > 0)
        {
            if (suffix[0] == '.' || suffix[0] == ',')
            {
                problem = $"\"{text}\" is not a whole number; {Accepted}";
                return false;
            }

            shift = -1;
            foreach ((string name, int suffixShift) in s_suffixes)
            {
                if (suffix.Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    shift = suffixShift;
                }
            }

            if (shift < 0)
            {
                problem = $"unknown size suffix '{suffix.ToString()}' in \"{text}\"; {Accepted}";
                return false;
            }
        }

        if (!ulong.TryParse(span[..digits], NumberStyles.None, CultureInfo.InvariantCulture, out ulong count)
            || (shift > 0 && count > (ulong.MaxValue >> shift)))
        {
            problem = $"\"{text}\" is too large (more than 2^64 - 1 bytes)";
            return false;
        }

        if (count == 0)
        {
            problem = $"\"{text}\" is zero; a size must be greater than zero";
            return false;
        }

        bytes = count << shift;
        problem = null;
        return true;
    }

    /// <summary>The shortest exact spelling: the largest binary suffix that divides the size, else plain bytes.</summary>
    public static string Format(ulong bytes)
    {
        foreach ((string name, int shift) in s_suffixes)
        {
            ulong unit = 1UL << shift;
            if (bytes >= unit && bytes % unit == 0)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{bytes >> shift}{name}");
            }
        }

        return bytes.ToString(CultureInfo.InvariantCulture);
    }
}
