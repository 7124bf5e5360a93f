using System;
using System.Buffers.Binary;
using System.Linq;
using P2pEmu.Emulator.Devices.Net;
using Xunit;

namespace P2pEmu.Emulator.Tests.Net;

public sealed class RoceCodecTests
{
    // Built by scapy 2.5 (scapy.contrib.roce): Ether/IP(DF, TTL 64)/UDP(sport 0xC001, chksum 0)/BTH(SEND Only, SE, pad 3,
    // P_Key 0xFFFF, DestQP 0x12, AckReq, PSN 0x123456)/"hello" + 3 pad bytes, ICRC computed by scapy.
    private const string ScapySendOnlyHello =
        "020000000002020000000001080045000034000040004011" + "26b70a0000010a000002c00112b70020000004b0ffff0000" +
        "00128012345668656c6c6f0000006d8d8ba9";

    public static TheoryData<IbOpcode> Opcodes => new(RoceTestFrames.AllOpcodes);

    [Theory]
    [MemberData(nameof(Opcodes))]
    public void WriteHeaders_ThenTryRead_RoundTripsEveryField(IbOpcode opcode)
    {
        RocePacket written = RoceTestFrames.Sample(opcode);
        byte[] payload = RoceTestFrames.Payload(RoceTestFrames.PayloadBytesFor(opcode, 13));
        byte[] frame = RoceTestFrames.Contiguous(ref written, payload);

        Assert.True(RoceCodec.TryRead(new WireFrame(frame), out RocePacket read, out int headerBytes, out int payloadBytes));

        Assert.Equal(written, read);
        Assert.Equal(42 + RocePacket.TransportHeaderBytes(opcode), headerBytes);
        Assert.Equal(payload.Length, payloadBytes);
        Assert.True(payload.AsSpan().SequenceEqual(RoceCodec.PayloadOf(new WireFrame(frame), headerBytes, payloadBytes)));
    }

    [Theory]
    [InlineData(IbOpcode.RcSendOnly, 12)]
    [InlineData(IbOpcode.RcSendOnlyWithImmediate, 16)]
    [InlineData(IbOpcode.RcRdmaWriteFirst, 28)]
    [InlineData(IbOpcode.RcRdmaWriteMiddle, 12)]
    [InlineData(IbOpcode.RcRdmaWriteOnlyWithImmediate, 32)]
    [InlineData(IbOpcode.RcRdmaReadRequest, 28)]
    [InlineData(IbOpcode.RcRdmaReadResponseMiddle, 12)]
    [InlineData(IbOpcode.RcRdmaReadResponseOnly, 16)]
    [InlineData(IbOpcode.RcAcknowledge, 16)]
    public void TransportHeaderBytes_MatchesIbaHeaderTable(IbOpcode opcode, int expected) =>
        Assert.Equal(expected, RocePacket.TransportHeaderBytes(opcode));

    [Fact]
    public void MaxHeaderBytes_IsTheLongestHeaderAnyOpcodeWrites()
    {
        int longest = RoceTestFrames.AllOpcodes.Max(o => 42 + RocePacket.TransportHeaderBytes(o));
        Assert.Equal(RoceCodec.MaxHeaderBytes, longest);
        Assert.Equal(74, RoceCodec.MaxHeaderBytes);
        Assert.Equal(7, RoceCodec.TrailerMaxBytes);
    }

    [Fact]
    public void WriteHeaders_SendOnlyHello_MatchesScapyByteForByte()
    {
        RocePacket packet = new()
        {
            DestinationMac = RoceTestFrames.MacB,
            SourceMac = RoceTestFrames.MacA,
            SourceIp = 0x0A000001,
            DestinationIp = 0x0A000002,
            UdpSourcePort = 0xC001,
            Opcode = IbOpcode.RcSendOnly,
            SolicitedEvent = true,
            AckRequest = true,
            DestinationQp = 0x12,
            Psn = 0x123456,
        };

        byte[] frame = RoceTestFrames.Contiguous(ref packet, "hello"u8);

        Assert.Equal(ScapySendOnlyHello, Convert.ToHexStringLower(frame));
        Assert.Equal(3, packet.PadCount);
    }

    [Theory]
    [MemberData(nameof(Opcodes))]
    public void WriteHeaders_Ipv4HeaderChecksum_SumsToAllOnes(IbOpcode opcode)
    {
        RocePacket packet = RoceTestFrames.Sample(opcode);
        byte[] frame = RoceTestFrames.Contiguous(ref packet, RoceTestFrames.Payload(RoceTestFrames.PayloadBytesFor(opcode, 1001)));

        Assert.Equal(0xFFFFu, Ipv4HeaderSum(frame));
        Assert.Equal(frame.Length - 14, (frame[16] << 8) | frame[17]);        // IPv4 total length
        Assert.Equal(frame.Length - 34, (frame[38] << 8) | frame[39]);        // UDP length
        Assert.Equal(0x40, frame[20] & 0xE0);                                // DF, not MF
        Assert.Equal(64, frame[22]);
        Assert.Equal(0, (frame[40] << 8) | frame[41]);                        // UDP checksum 0
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 3)]
    [InlineData(2, 2)]
    [InlineData(3, 1)]
    [InlineData(4, 0)]
    [InlineData(5, 3)]
    [InlineData(6, 2)]
    [InlineData(7, 1)]
    public void WriteHeaders_PadsPayloadToAMultipleOfFour(int payloadBytes, int expectedPad)
    {
        RocePacket packet = RoceTestFrames.Sample(IbOpcode.RcRdmaWriteOnly);
        byte[] payload = RoceTestFrames.Payload(payloadBytes);
        byte[] frame = RoceTestFrames.Contiguous(ref packet, payload);

        Assert.Equal(expectedPad, packet.PadCount);
        Assert.Equal(expectedPad, (frame[43] >> 4) & 3);
        Assert.Equal(70 + payloadBytes + expectedPad + 4, frame.Length);
        Assert.All(frame.AsSpan(70 + payloadBytes, expectedPad).ToArray(), b => Assert.Equal(0, b));
        Assert.True(RoceCodec.TryRead(new WireFrame(frame), out RocePacket read, out _, out int readPayload));
        Assert.Equal(payloadBytes, readPayload);
        Assert.Equal(expectedPad, read.PadCount);
    }

    [Fact]
    public void TryRead_GatheredFrame_PayloadOfIsTheSendersBuffer()
    {
        RocePacket packet = RoceTestFrames.Sample(IbOpcode.RcRdmaWriteMiddle);
        byte[] payload = RoceTestFrames.Payload(1024);
        Span<byte> headers = stackalloc byte[RoceCodec.MaxHeaderBytes];
        int headerBytes = RoceCodec.WriteHeaders(headers, ref packet, payload.Length);
        Span<byte> trailer = stackalloc byte[RoceCodec.TrailerMaxBytes];
        int trailerBytes = RoceCodec.WriteTrailer(trailer, headers[..headerBytes], payload, packet.PadCount, computeIcrc: true);
        var frame = new WireFrame(headers[..headerBytes], payload, trailer[..trailerBytes]);

        Assert.True(RoceCodec.TryRead(frame, out RocePacket read, out int readHeaders, out int readPayload));

        Assert.Equal(packet, read);
        Assert.Equal(headerBytes, readHeaders);
        ReadOnlySpan<byte> found = RoceCodec.PayloadOf(frame, readHeaders, readPayload);
        Assert.True(found == payload.AsSpan());                           // the same memory, not a copy
        Assert.True(RoceCodec.VerifyIcrc(frame));
    }

    [Theory]
    [MemberData(nameof(Opcodes))]
    public void TryRead_TruncatedAtEveryLength_ReturnsFalse(IbOpcode opcode)
    {
        RocePacket packet = RoceTestFrames.Sample(opcode);
        byte[] frame = RoceTestFrames.Contiguous(ref packet, RoceTestFrames.Payload(RoceTestFrames.PayloadBytesFor(opcode, 9)));

        for (int length = 0; length < frame.Length; length++)
        {
            Assert.False(RoceCodec.TryRead(new WireFrame(frame.AsSpan(0, length)), out _, out _, out _));
            bool verified = RoceCodec.VerifyIcrc(new WireFrame(frame.AsSpan(0, length)));
            Assert.False(verified && length < 58);
        }
    }

    [Fact]
    public void TryRead_GatheredFrameSplitInsideTheHeaders_ReturnsFalse()
    {
        RocePacket packet = RoceTestFrames.Sample(IbOpcode.RcRdmaWriteFirst);
        byte[] frame = RoceTestFrames.Contiguous(ref packet, RoceTestFrames.Payload(64));

        for (int split = 0; split < 70; split++)
        {
            Assert.False(RoceCodec.TryRead(new WireFrame(frame.AsSpan(0, split), frame.AsSpan(split), default), out _, out _, out _));
        }
    }

    [Theory]
    [InlineData(12, 0x86)]          // EtherType 0x86DD (IPv6)
    [InlineData(14, 0x46)]          // IHL 6: options
    [InlineData(14, 0x65)]          // version 6
    [InlineData(23, 6)]             // protocol TCP
    [InlineData(36, 0x13)]          // UDP destination port 0x13B7
    [InlineData(37, 0xB8)]          // UDP destination port 4792
    [InlineData(39, 0x00)]          // UDP length
    [InlineData(42, 0x12)]          // opcode 0x12: not RC
    [InlineData(42, 0x64)]          // opcode 0x64: UD SEND Only
    [InlineData(43, 0x01)]          // TVer 1
    public void TryRead_CorruptedField_ReturnsFalse(int offset, byte value)
    {
        RocePacket packet = RoceTestFrames.Sample(IbOpcode.RcSendOnly);
        byte[] frame = RoceTestFrames.Contiguous(ref packet, RoceTestFrames.Payload(4));
        frame[offset] = value;
        FixIpChecksum(frame);

        Assert.False(RoceCodec.TryRead(new WireFrame(frame), out _, out _, out _));
    }

    [Fact]
    public void TryRead_BadIpChecksum_ReturnsFalse()
    {
        RocePacket packet = RoceTestFrames.Sample(IbOpcode.RcSendOnly);
        byte[] frame = RoceTestFrames.Contiguous(ref packet, RoceTestFrames.Payload(4));
        frame[25] ^= 1;

        Assert.False(RoceCodec.TryRead(new WireFrame(frame), out _, out _, out _));
    }

    [Theory]
    [InlineData(-4)]
    [InlineData(-1)]
    [InlineData(1)]
    [InlineData(4)]
    public void TryRead_IpTotalLengthNotTheFrameLength_ReturnsFalse(int delta)
    {
        RocePacket packet = RoceTestFrames.Sample(IbOpcode.RcSendOnly);
        byte[] frame = RoceTestFrames.Contiguous(ref packet, RoceTestFrames.Payload(8));
        SetLengths(frame, frame.Length - 14 + delta);                       // UDP agrees with IP, not with the frame

        Assert.False(RoceCodec.TryRead(new WireFrame(frame), out _, out _, out _));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void TryRead_PaddedPayloadNotAMultipleOfFour_ReturnsFalse(int shortBy)
    {
        RocePacket packet = RoceTestFrames.Sample(IbOpcode.RcSendOnly);
        byte[] frame = RoceTestFrames.Contiguous(ref packet, RoceTestFrames.Payload(8))[..^shortBy];
        SetLengths(frame, frame.Length - 14);

        Assert.False(RoceCodec.TryRead(new WireFrame(frame), out _, out _, out _));
    }

    [Fact]
    public void TryRead_AcknowledgeWithPayload_ReturnsFalse()
    {
        RocePacket packet = RoceTestFrames.Sample(IbOpcode.RcSendOnly);
        byte[] frame = RoceTestFrames.Contiguous(ref packet, RoceTestFrames.Payload(8));
        frame[42] = (byte)IbOpcode.RcAcknowledge;                             // AETH + 4 bytes of payload remain

        Assert.False(RoceCodec.TryRead(new WireFrame(frame), out _, out _, out _));
    }

    [Fact]
    public void TryRead_RandomGarbage_NeverThrows()
    {
        var random = new Random(4791);
        RocePacket packet = RoceTestFrames.Sample(IbOpcode.RcRdmaWriteOnlyWithImmediate);
        byte[] good = RoceTestFrames.Contiguous(ref packet, RoceTestFrames.Payload(33));
        for (int i = 0; i < 20_000; i++)
        {
            byte[] frame = (byte[])good.Clone();
            frame[random.Next(frame.Length)] = (byte)random.Next(256);
            frame[random.Next(14, 54)] = (byte)random.Next(256);
            FixIpChecksum(frame);
            int split = random.Next(frame.Length + 1);
            var wire = new WireFrame(frame.AsSpan(0, split), frame.AsSpan(split), default);
            if (RoceCodec.TryRead(wire, out _, out int headerBytes, out int payloadBytes))
            {
                Assert.Equal(frame.Length - headerBytes - payloadBytes - 4, (frame[43] >> 4) & 3);
                _ = RoceCodec.PayloadOf(wire, headerBytes, payloadBytes);
            }

            _ = RoceCodec.VerifyIcrc(wire);
        }
    }

    [Fact]
    public void WriteHeaders_Misuse_Throws()
    {
        var buffer = new byte[RoceCodec.MaxHeaderBytes];
        RocePacket ack = RoceTestFrames.Sample(IbOpcode.RcAcknowledge);
        RocePacket bad = RoceTestFrames.Sample((IbOpcode)0x12);
        RocePacket write = RoceTestFrames.Sample(IbOpcode.RcRdmaWriteOnly);

        Assert.Throws<ArgumentException>(() => RoceCodec.WriteHeaders(buffer, ref ack, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => RoceCodec.WriteHeaders(buffer, ref bad, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => RoceCodec.WriteHeaders(buffer, ref write, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => RoceCodec.WriteHeaders(buffer, ref write, RoceCodec.MaxPayloadBytes + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => RoceCodec.WriteHeaders(buffer.AsSpan(0, 69), ref write, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => RoceCodec.WriteTrailer(buffer, buffer, default, 4, false));
    }

    [Fact]
    public void NewRocePacket_HasDefaultPartitionKey() => Assert.Equal(0xFFFF, new RocePacket().PartitionKey);

    [Fact]
    public void MacAddress_FormatsWritesAndReads()
    {
        var mac = new MacAddress(0x02_00_00_00_00_01);
        Span<byte> bytes = stackalloc byte[6];
        mac.Write(bytes);

        Assert.Equal("02:00:00:00:00:01", mac.ToString());
        Assert.Equal("fe:dc:ba:98:76:54", new MacAddress(0xFE_DC_BA_98_76_54).ToString());
        Assert.Equal(new byte[] { 2, 0, 0, 0, 0, 1 }, bytes.ToArray());
        Assert.Equal(mac, MacAddress.Read(bytes));
    }

    internal static void FixIpChecksum(byte[] frame)
    {
        frame[24] = 0;
        frame[25] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(24), unchecked((ushort)~Ipv4HeaderSum(frame)));
    }

    /// <summary>Sets the IPv4 total length and UDP length, then the IPv4 checksum, as a sender of such a frame would.</summary>
    private static void SetLengths(byte[] frame, int ipTotalBytes)
    {
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(16), (ushort)ipTotalBytes);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(38), (ushort)(ipTotalBytes - 20));
        FixIpChecksum(frame);
    }

    /// <summary>RFC 1071 ones'-complement sum of the IPv4 header's 16-bit words, written here independently of the codec.</summary>
    private static uint Ipv4HeaderSum(byte[] frame)
    {
        uint sum = 0;
        for (int i = 14; i < 34; i += 2)
        {
            sum += (uint)((frame[i] << 8) | frame[i + 1]);
        }

        sum = (sum & 0xFFFF) + (sum >> 16);
        return (sum & 0xFFFF) + (sum >> 16);
    }
}
