using System;

namespace P2pEmu.Integration.Tests.Integrity;

/// <summary>Reference data, made from the seed alone: never read back through the emulator.</summary>
internal static class Seeded
{
    public static byte[] Bytes(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary><paramref name="background"/> with <paramref name="data"/> laid over it at <paramref name="offset"/>.</summary>
    public static byte[] Overlay(ReadOnlySpan<byte> background, int offset, ReadOnlySpan<byte> data)
    {
        byte[] expected = background.ToArray();
        data.CopyTo(expected.AsSpan(offset));
        return expected;
    }
}
