using System;
using System.Buffers.Binary;

namespace P2pEmu.Emulator.Devices.Net;

/// <summary>A 48-bit Ethernet MAC address; <see cref="Value"/> holds it with the first byte on the wire in bits 47:40.</summary>
/// <param name="Value">The address in the low 48 bits.</param>
public readonly record struct MacAddress(ulong Value)
{
    /// <summary>The size of an address on the wire.</summary>
    public const int SizeBytes = 6;

    private const ulong Mask = (1UL << 48) - 1;

    /// <summary>The broadcast address ff:ff:ff:ff:ff:ff.</summary>
    public static MacAddress Broadcast => new(Mask);

    /// <summary>Reads an address from the first six bytes of <paramref name="source"/> (network order).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="source"/> is shorter than six bytes.</exception>
    public static MacAddress Read(ReadOnlySpan<byte> source)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(source.Length, SizeBytes);
        return new(((ulong)BinaryPrimitives.ReadUInt16BigEndian(source) << 32) | BinaryPrimitives.ReadUInt32BigEndian(source[2..]));
    }

    /// <summary>Writes the address to the first six bytes of <paramref name="destination"/> (network order).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="destination"/> is shorter than six bytes.</exception>
    public void Write(Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, SizeBytes);
        BinaryPrimitives.WriteUInt16BigEndian(destination, unchecked((ushort)(Value >> 32)));
        BinaryPrimitives.WriteUInt32BigEndian(destination[2..], unchecked((uint)Value));
    }

    /// <summary>The address as six lower-case hex pairs joined by colons, for example <c>02:00:00:00:00:01</c>.</summary>
    public override string ToString() => string.Create(17, Value & Mask, static (chars, value) =>
    {
        const string Hex = "0123456789abcdef";
        for (int i = 0; i < SizeBytes; i++)
        {
            int octet = unchecked((int)(value >> (40 - (8 * i))) & 0xFF);
            chars[i * 3] = Hex[octet >> 4];
            chars[(i * 3) + 1] = Hex[octet & 0xF];
            if (i < SizeBytes - 1)
            {
                chars[(i * 3) + 2] = ':';
            }
        }
    });
}
