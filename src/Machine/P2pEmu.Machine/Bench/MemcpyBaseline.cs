using System;
using System.Diagnostics;

namespace P2pEmu.Machine.Bench;

/// <summary>
/// The same-run baseline every macro figure is divided by: <c>memcpy</c> (<see cref="Span{T}.CopyTo"/>, the runtime's
/// memmove) of the same size between two pinned, pre-touched buffers, repeated for at least
/// <see cref="MinimumSeconds"/>, fastest of three.
/// </summary>
public static class MemcpyBaseline
{
    public const double MinimumSeconds = 0.02;

    /// <summary>Copies of <paramref name="bytes"/> per second.</summary>
    public static double CopiesPerSecond(int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        byte[] source = GC.AllocateUninitializedArray<byte>(bytes, pinned: true);
        byte[] target = GC.AllocateUninitializedArray<byte>(bytes, pinned: true);
        source.AsSpan().Fill(0xA5);
        target.AsSpan().Clear();
        double best = 0;
        for (int pass = 0; pass < 3; pass++)
        {
            long copies = 0;
            long start = Stopwatch.GetTimestamp();
            double seconds;
            do
            {
                source.AsSpan().CopyTo(target);
                copies++;
                seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            }
            while (seconds < MinimumSeconds);

            best = Math.Max(best, copies / seconds);
        }

        return best;
    }
}
