using System;
using System.Buffers.Binary;
using System.IO.Hashing;

namespace P2pEmu.Emulator.Devices.Net;

/// <summary>
/// Writes and reads RoCEv2 frames: Ethernet II, IPv4 (no options), UDP to port 4791, the IBA transport headers,
/// the payload, 0–3 pad bytes and the 4-byte ICRC (IBA vol. 1, annex A17 "RoCEv2").
/// </summary>
/// <remarks>
/// <para>Nothing here allocates after a thread's first ICRC, and malformed input never throws:
/// <see cref="TryRead"/> and <see cref="VerifyIcrc"/> return false. Exceptions are for host-side misuse only
/// (a destination too small, an opcode that is not RC, a payload an opcode cannot carry).</para>
/// <para>The ICRC follows Linux rxe (drivers/infiniband/sw/rxe/rxe_icrc.c): CRC-32 as Ethernet computes it over
/// eight 0xFF bytes standing for the LRH, then the IPv4 header with TOS, TTL and header checksum set to ones,
/// the UDP header with its checksum set to ones, the BTH with its reserved byte 4 (the FECN/BECN bits and
/// resv6) set to ones, the rest of the transport headers, the payload and the pad. Its four bytes go on the
/// wire least significant first, as rxe stores the CRC on a little-endian host and Wireshark checks it.</para>
/// </remarks>
public static class RoceCodec
{
    /// <summary>Ethernet II header: two addresses and the EtherType.</summary>
    public const int EthernetHeaderBytes = 14;

    /// <summary>IPv4 header without options (IHL 5).</summary>
    public const int Ipv4HeaderBytes = 20;

    /// <summary>UDP header.</summary>
    public const int UdpHeaderBytes = 8;

    /// <summary>Base Transport Header.</summary>
    public const int BthBytes = 12;

    /// <summary>RDMA Extended Transport Header.</summary>
    public const int RethBytes = 16;

    /// <summary>ACK Extended Transport Header.</summary>
    public const int AethBytes = 4;

    /// <summary>Immediate Data extended transport header.</summary>
    public const int ImmDtBytes = 4;

    /// <summary>Invariant CRC.</summary>
    public const int IcrcBytes = 4;

    /// <summary>The UDP destination port IANA assigned to RoCEv2.</summary>
    public const ushort RoceV2Port = 4791;

    /// <summary>
    /// The longest header <see cref="WriteHeaders"/> writes: Ethernet, IPv4, UDP, BTH, RETH and ImmDt
    /// (RDMA WRITE Only with Immediate), 74 bytes. No RC opcode carries an AETH together with a RETH.
    /// </summary>
    public const int MaxHeaderBytes = EthernetHeaderBytes + Ipv4HeaderBytes + UdpHeaderBytes + BthBytes + RethBytes + ImmDtBytes;

    /// <summary>The longest trailer <see cref="WriteTrailer"/> writes: three pad bytes and the ICRC.</summary>
    public const int TrailerMaxBytes = 3 + IcrcBytes;

    /// <summary>The largest payload one frame can carry: what an IPv4 total length of 65535 leaves.</summary>
    public const int MaxPayloadBytes = ushort.MaxValue - Ipv4HeaderBytes - UdpHeaderBytes - BthBytes - RethBytes - ImmDtBytes - TrailerMaxBytes;

    private const int IpOffset = EthernetHeaderBytes;
    private const int UdpOffset = IpOffset + Ipv4HeaderBytes;
    private const int BthOffset = UdpOffset + UdpHeaderBytes;
    private const int ExtensionOffset = BthOffset + BthBytes;
    private const ushort EtherTypeIpv4 = 0x0800;
    private const byte IpProtocolUdp = 17;
    private const byte DefaultTtl = 64;
    private const ushort IpDontFragment = 0x4000;
    private const uint Mask24 = 0xFF_FFFF;
    private const int MaskedLrhBytes = 8;

    // One CRC state per thread, so an ICRC allocates only on a thread's first.
    [ThreadStatic]
    private static Crc32? s_crc;

    /// <summary>
    /// Writes Ethernet II, IPv4, UDP, BTH and the extension headers <paramref name="packet"/>'s opcode carries,
    /// for a payload of <paramref name="payloadBytes"/> bytes followed by the pad and the ICRC.
    /// </summary>
    /// <param name="destination">Where the headers go; <see cref="MaxHeaderBytes"/> is always enough.</param>
    /// <param name="packet">The header fields; its <see cref="RocePacket.PadCount"/> is set to the pad the payload needs.</param>
    /// <param name="payloadBytes">The payload's length.</param>
    /// <returns>The header length in bytes.</returns>
    /// <remarks>
    /// IPv4: DSCP/ECN 0, identification 0, DF set, TTL 64. UDP checksum 0, which RoCEv2 over IPv4 allows (A17.4.3).
    /// BTH: TVer 0 and MigReq 0, as Linux rxe's requester sends them (<c>bth_init(…, migreq = 0, …)</c>; rxe implements
    /// no automatic path migration, and neither do we).
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">The opcode is not an RC opcode, <paramref name="payloadBytes"/> is
    /// negative or over <see cref="MaxPayloadBytes"/>, or <paramref name="destination"/> is too short.</exception>
    /// <exception cref="ArgumentException">The opcode carries no payload but <paramref name="payloadBytes"/> is not 0.</exception>
    public static int WriteHeaders(Span<byte> destination, ref RocePacket packet, int payloadBytes)
    {
        IbOpcode opcode = packet.Opcode;
        ArgumentOutOfRangeException.ThrowIfGreaterThan((byte)opcode, (byte)IbOpcode.RcAcknowledge, nameof(packet));
        ArgumentOutOfRangeException.ThrowIfNegative(payloadBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(payloadBytes, MaxPayloadBytes);
        if (payloadBytes != 0 && !RocePacket.HasPayload(opcode))
        {
            throw new ArgumentException($"{opcode} carries no payload, but {payloadBytes} bytes were given", nameof(payloadBytes));
        }

        int headerBytes = ExtensionOffset + RocePacket.TransportHeaderBytes(opcode) - BthBytes;
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, headerBytes, nameof(destination));

        int pad = (4 - (payloadBytes & 3)) & 3;
        packet.PadCount = pad;
        int udpLength = headerBytes - UdpOffset + payloadBytes + pad + IcrcBytes;
        Span<byte> frame = destination[..headerBytes];

        packet.DestinationMac.Write(frame);
        packet.SourceMac.Write(frame[MacAddress.SizeBytes..]);
        BinaryPrimitives.WriteUInt16BigEndian(frame[12..], EtherTypeIpv4);

        Span<byte> ip = frame.Slice(IpOffset, Ipv4HeaderBytes);
        ip[0] = 0x45;
        ip[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(Ipv4HeaderBytes + udpLength));
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(ip[6..], IpDontFragment);
        ip[8] = DefaultTtl;
        ip[9] = IpProtocolUdp;
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(ip[12..], packet.SourceIp);
        BinaryPrimitives.WriteUInt32BigEndian(ip[16..], packet.DestinationIp);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], unchecked((ushort)~OnesComplementSum(ip)));

        Span<byte> udp = frame.Slice(UdpOffset, UdpHeaderBytes);
        BinaryPrimitives.WriteUInt16BigEndian(udp, packet.UdpSourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], RoceV2Port);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)udpLength);
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], 0);

        // IBA 9.2: byte 1 is SE(7) M(6) PadCnt(5:4) TVer(3:0); byte 4 is resv8a; byte 8 is A(7) and resv7.
        Span<byte> bth = frame.Slice(BthOffset, BthBytes);
        bth[0] = (byte)opcode;
        bth[1] = (byte)((packet.SolicitedEvent ? 0x80 : 0) | (pad << 4));
        BinaryPrimitives.WriteUInt16BigEndian(bth[2..], packet.PartitionKey);
        BinaryPrimitives.WriteUInt32BigEndian(bth[4..], packet.DestinationQp & Mask24);
        BinaryPrimitives.WriteUInt32BigEndian(bth[8..], (packet.AckRequest ? 0x8000_0000u : 0) | (packet.Psn & Mask24));

        // IBA 9.2, header order: BTH, RETH, AETH, ImmDt.
        Span<byte> extension = frame[ExtensionOffset..];
        if (RocePacket.HasReth(opcode))
        {
            BinaryPrimitives.WriteUInt64BigEndian(extension, packet.VirtualAddress);
            BinaryPrimitives.WriteUInt32BigEndian(extension[8..], packet.RKey);
            BinaryPrimitives.WriteUInt32BigEndian(extension[12..], packet.DmaLength);
            extension = extension[RethBytes..];
        }

        if (RocePacket.HasAeth(opcode))
        {
            BinaryPrimitives.WriteUInt32BigEndian(extension, ((uint)packet.Syndrome << 24) | (packet.Msn & Mask24));
            extension = extension[AethBytes..];
        }

        if (RocePacket.HasImmediate(opcode))
        {
            BinaryPrimitives.WriteUInt32BigEndian(extension, packet.Immediate);
        }

        return headerBytes;
    }

    /// <summary>Writes the trailer that follows <paramref name="payload"/>: <paramref name="padCount"/> zero bytes and the ICRC.</summary>
    /// <param name="destination">Where the trailer goes; <see cref="TrailerMaxBytes"/> is always enough.</param>
    /// <param name="headers">The frame's headers as <see cref="WriteHeaders"/> wrote them, from the Ethernet header on.</param>
    /// <param name="payload">The payload.</param>
    /// <param name="padCount">The packet's pad count, 0–3.</param>
    /// <param name="computeIcrc">
    /// Whether to compute the ICRC. When false the ICRC is written as zeros: the emulated link is lossless and
    /// its receivers do not check the ICRC, so the NIC pays for the CRC only while someone looks
    /// (<see cref="EthernetLink.NeedsIcrc"/>).
    /// </param>
    /// <returns>The trailer length, <paramref name="padCount"/> + 4.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="padCount"/> is not 0–3, or <paramref name="destination"/> is too short.</exception>
    /// <exception cref="ArgumentException"><paramref name="headers"/> is too short to hold the Ethernet, IPv4, UDP and BTH headers.</exception>
    public static int WriteTrailer(Span<byte> destination, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload, int padCount, bool computeIcrc)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(padCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(padCount, 3);
        int trailerBytes = padCount + IcrcBytes;
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, trailerBytes, nameof(destination));

        Span<byte> trailer = destination[..trailerBytes];
        trailer.Clear();
        if (computeIcrc)
        {
            uint icrc = ComputeIcrc(new WireFrame(headers, payload, trailer));
            BinaryPrimitives.WriteUInt32LittleEndian(trailer[padCount..], icrc);
        }

        return trailerBytes;
    }

    /// <summary>Computes the ICRC of <paramref name="frame"/>: over all of it from the IPv4 header to the byte before its last four.</summary>
    /// <returns>The CRC-32 value; its bytes go on the wire least significant first.</returns>
    /// <exception cref="ArgumentException">The frame is too short to hold the Ethernet, IPv4, UDP and BTH headers and an ICRC.</exception>
    public static uint ComputeIcrc(in WireFrame frame)
    {
        if (frame.Length < ExtensionOffset + IcrcBytes)
        {
            throw new ArgumentException($"a {frame.Length}-byte frame cannot hold a RoCEv2 BTH and ICRC", nameof(frame));
        }

        return ComputeIcrcUnchecked(frame);
    }

    /// <summary>Whether the last four bytes of <paramref name="frame"/> are its ICRC. False, never an exception, for a frame too short to have one.</summary>
    public static bool VerifyIcrc(in WireFrame frame)
    {
        if (frame.Length < ExtensionOffset + IcrcBytes)
        {
            return false;
        }

        Span<byte> stored = stackalloc byte[IcrcBytes];
        CopyRange(frame, frame.Length - IcrcBytes, stored);
        return BinaryPrimitives.ReadUInt32LittleEndian(stored) == ComputeIcrcUnchecked(frame);
    }

    /// <summary>
    /// Decodes a RoCEv2 RC frame. False, never an exception, for anything else or anything inconsistent: not
    /// Ethernet II with EtherType IPv4; not IPv4 version 4 with IHL 5, a good header checksum and no fragmentation;
    /// not UDP to port 4791; a BTH opcode that is not RC or a TVer other than 0; an IPv4 total length that is not the
    /// frame's length; a UDP length that is not the IPv4 payload's; a pad count that does not pad the payload to a
    /// multiple of four; a payload on an opcode that carries none; headers that are not all in
    /// <see cref="WireFrame.Headers"/>; or a payload that is neither in <see cref="WireFrame.Headers"/> nor exactly at the
    /// start of <see cref="WireFrame.Payload"/>. The ICRC is not checked (<see cref="VerifyIcrc"/> does that).
    /// </summary>
    /// <param name="frame">The received frame.</param>
    /// <param name="packet">The decoded headers.</param>
    /// <param name="headerBytes">The header length, from the Ethernet header to the last transport header.</param>
    /// <param name="payloadBytes">The payload length, without pad and ICRC; <see cref="PayloadOf"/> finds the bytes.</param>
    public static bool TryRead(in WireFrame frame, out RocePacket packet, out int headerBytes, out int payloadBytes)
    {
        packet = default;
        headerBytes = 0;
        payloadBytes = 0;
        ReadOnlySpan<byte> h = frame.Headers;
        if (h.Length < ExtensionOffset || BinaryPrimitives.ReadUInt16BigEndian(h[12..]) != EtherTypeIpv4)
        {
            return false;
        }

        ReadOnlySpan<byte> ip = h.Slice(IpOffset, Ipv4HeaderBytes);
        int ipTotalBytes = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        if (ip[0] != 0x45 || ip[9] != IpProtocolUdp || (BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x3FFF) != 0
            || OnesComplementSum(ip) != 0xFFFF || EthernetHeaderBytes + ipTotalBytes != frame.Length)
        {
            return false;
        }

        ReadOnlySpan<byte> udp = h.Slice(UdpOffset, UdpHeaderBytes);
        if (BinaryPrimitives.ReadUInt16BigEndian(udp[2..]) != RoceV2Port
            || BinaryPrimitives.ReadUInt16BigEndian(udp[4..]) != ipTotalBytes - Ipv4HeaderBytes)
        {
            return false;
        }

        ReadOnlySpan<byte> bth = h.Slice(BthOffset, BthBytes);
        var opcode = (IbOpcode)bth[0];
        if (opcode > IbOpcode.RcAcknowledge || (bth[1] & 0x0F) != 0)
        {
            return false;
        }

        int pad = (bth[1] >> 4) & 3;
        int headers = ExtensionOffset - BthBytes + RocePacket.TransportHeaderBytes(opcode);
        int paddedPayload = frame.Length - headers - IcrcBytes;
        int payload = paddedPayload - pad;
        if (h.Length < headers || payload < 0 || (paddedPayload & 3) != 0 || (payload != 0 && !RocePacket.HasPayload(opcode)))
        {
            return false;
        }

        bool inHeaders = h.Length >= headers + payload;
        bool inPayload = h.Length == headers && frame.Payload.Length >= payload;
        if (!inHeaders && !inPayload)
        {
            return false;
        }

        packet = new RocePacket
        {
            DestinationMac = MacAddress.Read(h),
            SourceMac = MacAddress.Read(h[MacAddress.SizeBytes..]),
            SourceIp = BinaryPrimitives.ReadUInt32BigEndian(ip[12..]),
            DestinationIp = BinaryPrimitives.ReadUInt32BigEndian(ip[16..]),
            UdpSourcePort = BinaryPrimitives.ReadUInt16BigEndian(udp),
            Opcode = opcode,
            SolicitedEvent = (bth[1] & 0x80) != 0,
            PadCount = pad,
            PartitionKey = BinaryPrimitives.ReadUInt16BigEndian(bth[2..]),
            DestinationQp = BinaryPrimitives.ReadUInt32BigEndian(bth[4..]) & Mask24,
            AckRequest = (bth[8] & 0x80) != 0,
            Psn = BinaryPrimitives.ReadUInt32BigEndian(bth[8..]) & Mask24,
        };

        ReadOnlySpan<byte> extension = h[ExtensionOffset..headers];
        if (RocePacket.HasReth(opcode))
        {
            packet.VirtualAddress = BinaryPrimitives.ReadUInt64BigEndian(extension);
            packet.RKey = BinaryPrimitives.ReadUInt32BigEndian(extension[8..]);
            packet.DmaLength = BinaryPrimitives.ReadUInt32BigEndian(extension[12..]);
            extension = extension[RethBytes..];
        }

        if (RocePacket.HasAeth(opcode))
        {
            uint aeth = BinaryPrimitives.ReadUInt32BigEndian(extension);
            packet.Syndrome = (byte)(aeth >> 24);
            packet.Msn = aeth & Mask24;
            extension = extension[AethBytes..];
        }

        if (RocePacket.HasImmediate(opcode))
        {
            packet.Immediate = BinaryPrimitives.ReadUInt32BigEndian(extension);
        }

        headerBytes = headers;
        payloadBytes = payload;
        return true;
    }

    /// <summary>
    /// The payload of a frame <see cref="TryRead"/> accepted: inside <see cref="WireFrame.Headers"/> right after the
    /// headers (a contiguous frame), else at the start of <see cref="WireFrame.Payload"/> (a gathered frame).
    /// </summary>
    /// <param name="frame">The frame.</param>
    /// <param name="headerBytes">The header length <see cref="TryRead"/> returned.</param>
    /// <param name="payloadBytes">The payload length <see cref="TryRead"/> returned.</param>
    /// <exception cref="ArgumentOutOfRangeException">The lengths do not fit the frame.</exception>
    public static ReadOnlySpan<byte> PayloadOf(in WireFrame frame, int headerBytes, int payloadBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(headerBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(payloadBytes);
        return frame.Headers.Length > headerBytes
            ? frame.Headers.Slice(headerBytes, payloadBytes)
            : frame.Payload[..payloadBytes];
    }

    private static uint ComputeIcrcUnchecked(in WireFrame frame)
    {
        // rxe_icrc.c: seed with eight 0xFF bytes for the LRH that RoCEv2 does not have, then the masked IP, UDP and BTH.
        Span<byte> masked = stackalloc byte[MaskedLrhBytes + ExtensionOffset - IpOffset];
        masked[..MaskedLrhBytes].Fill(0xFF);
        Span<byte> ip = masked[MaskedLrhBytes..];
        CopyRange(frame, IpOffset, ip);
        ip[1] = 0xFF;                                      // TOS: DSCP and ECN
        ip[8] = 0xFF;                                      // TTL
        ip[10] = 0xFF;                                     // header checksum
        ip[11] = 0xFF;
        ip[Ipv4HeaderBytes + 6] = 0xFF;                    // UDP checksum
        ip[Ipv4HeaderBytes + 7] = 0xFF;
        ip[Ipv4HeaderBytes + UdpHeaderBytes + 4] = 0xFF;   // BTH resv8a (FECN, BECN, resv6)

        Crc32 crc = s_crc ??= new Crc32();
        crc.Reset();
        crc.Append(masked);
        AppendRange(crc, frame, ExtensionOffset, frame.Length - IcrcBytes);
        return crc.GetCurrentHashAsUInt32();
    }

    /// <summary>The ones'-complement sum of the big-endian 16-bit words of <paramref name="header"/> (RFC 1071); 0xFFFF over a header with a correct checksum.</summary>
    private static int OnesComplementSum(ReadOnlySpan<byte> header)
    {
        int sum = 0;
        for (int i = 0; i + 1 < header.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(header[i..]);
        }

        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return sum;
    }

    /// <summary>Copies <paramref name="destination"/>.Length bytes of the frame from <paramref name="start"/> on, across its pieces.</summary>
    private static void CopyRange(in WireFrame frame, int start, Span<byte> destination)
    {
        int pieceStart = 0;
        CopyPiece(frame.Headers, ref pieceStart, start, destination);
        CopyPiece(frame.Payload, ref pieceStart, start, destination);
        CopyPiece(frame.Trailer, ref pieceStart, start, destination);
    }

    private static void CopyPiece(ReadOnlySpan<byte> piece, ref int pieceStart, int start, Span<byte> destination)
    {
        int from = Math.Max(start, pieceStart);
        int to = Math.Min(start + destination.Length, pieceStart + piece.Length);
        if (from < to)
        {
            piece[(from - pieceStart)..(to - pieceStart)].CopyTo(destination[(from - start)..]);
        }

        pieceStart += piece.Length;
    }

    /// <summary>Appends the frame's bytes [<paramref name="start"/>, <paramref name="end"/>) to <paramref name="crc"/>, across its pieces.</summary>
    private static void AppendRange(Crc32 crc, in WireFrame frame, int start, int end)
    {
        int pieceStart = 0;
        AppendPiece(crc, frame.Headers, ref pieceStart, start, end);
        AppendPiece(crc, frame.Payload, ref pieceStart, start, end);
        AppendPiece(crc, frame.Trailer, ref pieceStart, start, end);
    }

    private static void AppendPiece(Crc32 crc, ReadOnlySpan<byte> piece, ref int pieceStart, int start, int end)
    {
        int from = Math.Max(start, pieceStart);
        int to = Math.Min(end, pieceStart + piece.Length);
        if (from < to)
        {
            crc.Append(piece[(from - pieceStart)..(to - pieceStart)]);
        }

        pieceStart += piece.Length;
    }
}
