using System;
using System.Collections.Generic;

namespace P2pEmu.Machine.Scenarios.Workload;

/// <summary>
/// The end-of-transfer check: what the target must hold is its old contents with each chunk's delivered prefix
/// replaced by the source's bytes; anything else is reported at its first bad byte.
/// </summary>
public static class DeliveryCheck
{
    /// <param name="data">What the transfer moved (its seeded source).</param>
    /// <param name="before">The target before the first chunk.</param>
    /// <param name="now">The target now.</param>
    /// <param name="delivered">Bytes each chunk's path reported delivered, from the chunk's start.</param>
    /// <param name="chunk">The chunk size (the last chunk may be shorter).</param>
    /// <returns>Null when <paramref name="now"/> is right; else the first bad offset, the expected and found byte, and whether its chunk was delivered.</returns>
    /// <exception cref="ArgumentException">The spans differ in length, or a delivered count runs past the data.</exception>
    public static string? FirstMismatch(ReadOnlySpan<byte> data, ReadOnlySpan<byte> before, ReadOnlySpan<byte> now, IReadOnlyList<long> delivered, ulong chunk)
    {
        ArgumentNullException.ThrowIfNull(delivered);
        ArgumentOutOfRangeException.ThrowIfZero(chunk);
        if (before.Length != data.Length || now.Length != data.Length)
        {
            throw new ArgumentException($"source {data.Length}, before {before.Length} and now {now.Length} bytes differ in length");
        }

        byte[] expected = before.ToArray();
        for (int i = 0; i < delivered.Count; i++)
        {
            long at = i * (long)chunk;
            if (delivered[i] < 0 || at + delivered[i] > data.Length)
            {
                throw new ArgumentException($"chunk {i} delivered {delivered[i]} bytes past the {data.Length}-byte source", nameof(delivered));
            }

            data.Slice((int)at, (int)delivered[i]).CopyTo(expected.AsSpan((int)at));
        }

        string? mismatch = Integrity.FirstMismatch(now, expected);
        if (mismatch is null)
        {
            return null;
        }

        int bad = now.CommonPrefixLength(expected);
        int index = (int)(bad / (long)chunk);
        return $"{mismatch} (chunk {index}, {(index < delivered.Count && delivered[index] > 0 ? "delivered" : "not delivered")})";
    }
}
