using System;

namespace P2pEmu.Emulator.Devices.Net;

/// <summary>
/// One Ethernet frame (destination MAC to the last byte before the FCS) as up to three pieces:
/// the frame on the wire is <see cref="Headers"/> ‖ <see cref="Payload"/> ‖ <see cref="Trailer"/>.
/// </summary>
/// <remarks>
/// An RDMA NIC builds its headers in a small buffer of its own and sends the payload straight out of the
/// memory it DMAs from, so a frame is a gather list and nothing is copied to transmit it. A plain frame may be
/// all in <see cref="Headers"/>, with the other two empty. The spans are valid only for the call that gets the
/// frame: a receiver that keeps bytes copies them.
/// </remarks>
public readonly ref struct WireFrame
{
    /// <summary>A frame held in one contiguous span.</summary>
    /// <param name="frame">The whole frame.</param>
    public WireFrame(ReadOnlySpan<byte> frame)
    {
        Headers = frame;
    }

    /// <summary>A frame gathered from three pieces.</summary>
    /// <param name="headers">Ethernet, IP, UDP and transport headers.</param>
    /// <param name="payload">The payload, typically the DMA source itself.</param>
    /// <param name="trailer">Pad and ICRC.</param>
    public WireFrame(ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> trailer)
    {
        Headers = headers;
        Payload = payload;
        Trailer = trailer;
    }

    /// <summary>The first piece: the headers, or the whole frame.</summary>
    public ReadOnlySpan<byte> Headers { get; }

    /// <summary>The second piece: the payload (may be empty).</summary>
    public ReadOnlySpan<byte> Payload { get; }

    /// <summary>The third piece: pad bytes and ICRC (may be empty).</summary>
    public ReadOnlySpan<byte> Trailer { get; }

    /// <summary>The frame's length in bytes, all three pieces together.</summary>
    public int Length => Headers.Length + Payload.Length + Trailer.Length;

    /// <summary>Copies the whole frame to <paramref name="destination"/>.</summary>
    /// <returns>The number of bytes copied, <see cref="Length"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Length"/>.</exception>
    public int CopyTo(Span<byte> destination)
    {
        if (destination.Length < Length)
        {
            throw new ArgumentException($"the frame is {Length} bytes, the destination {destination.Length}", nameof(destination));
        }

        Headers.CopyTo(destination);
        Payload.CopyTo(destination[Headers.Length..]);
        Trailer.CopyTo(destination[(Headers.Length + Payload.Length)..]);
        return Length;
    }
}
