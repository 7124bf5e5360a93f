using System;
using P2pEmu.Emulator.Devices.Net;
using Xunit;

namespace P2pEmu.Emulator.Tests.Net;

public sealed class IcrcTests
{
    public static TheoryData<IbOpcode, int> OpcodesAndPayloads()
    {
        // Opcodes without payload map every size to 0: each pair once.
        var data = new TheoryData<IbOpcode, int>();
        var seen = new System.Collections.Generic.HashSet<(IbOpcode, int)>();
        foreach (IbOpcode opcode in RoceTestFrames.AllOpcodes)
        {
            foreach (int bytes in new[] { 0, 1, 3, 4, 255, 4096 })
            {
                int payload = RoceTestFrames.PayloadBytesFor(opcode, bytes);
                if (seen.Add((opcode, payload)))
                {
                    data.Add(opcode, payload);
                }
            }
        }

        return data;
    }

    [Fact]
    public void WriteTrailer_SendOnlyHello_IsScapysIcrcLeastSignificantByteFirst()
    {
        RocePacket packet = RoceTestFrames.Sample(IbOpcode.RcSendOnly);
        byte[] frame = RoceTestFrames.Contiguous(ref packet, "hello"u8);
        // The golden frame of RoceCodecTests ends in scapy's ICRC 6d 8d 8b a9; check the same rule on this one.
        uint reference = ReferenceIcrc.Compute(frame);

        Assert.Equal(reference, BitConverter.ToUInt32(frame.AsSpan(frame.Length - 4)));
        Assert.Equal(unchecked((byte)reference), frame[^4]);
        Assert.Equal(0xA98B8D6Du, ReferenceIcrc.Compute(Convert.FromHexString(
            "020000000002020000000001080045000034000040004011" + "26b70a0000010a000002c00112b70020000004b0ffff0000" +
            "00128012345668656c6c6f0000006d8d8ba9")));
    }

    [Theory]
    [MemberData(nameof(OpcodesAndPayloads))]
    public void ComputeIcrc_MatchesTheReferenceForContiguousAndGatheredFrames(IbOpcode opcode, int payloadBytes)
    {
        RocePacket packet = RoceTestFrames.Sample(opcode);
        byte[] frame = RoceTestFrames.Contiguous(ref packet, RoceTestFrames.Payload(payloadBytes));
        uint reference = ReferenceIcrc.Compute(frame);
        int headerBytes = 42 + RocePacket.TransportHeaderBytes(opcode);

        Assert.Equal(reference, RoceCodec.ComputeIcrc(new WireFrame(frame)));
        Assert.Equal(reference, RoceCodec.ComputeIcrc(new WireFrame(
            frame.AsSpan(0, headerBytes), frame.AsSpan(headerBytes, payloadBytes), frame.AsSpan(headerBytes + payloadBytes))));
        Assert.Equal(reference, RoceCodec.ComputeIcrc(new WireFrame(frame.AsSpan(0, 20), frame.AsSpan(20, frame.Length - 30), frame.AsSpan(frame.Length - 10))));
        Assert.True(RoceCodec.VerifyIcrc(new WireFrame(frame)));
        Assert.True(RoceCodec.VerifyIcrc(new WireFrame(frame.AsSpan(0, frame.Length - 2), default, frame.AsSpan(frame.Length - 2))));
    }

    [Theory]
    [InlineData(15, 0xB8)]    // TOS: DSCP 46, ECN 0
    [InlineData(15, 0x03)]    // ECN CE, as a congested switch marks it
    [InlineData(22, 0x3F)]    // TTL after some hops
    [InlineData(24, 0x12)]    // IP checksum (a router rewrites it)
    [InlineData(40, 0xAB)]    // UDP checksum
    [InlineData(46, 0xC0)]    // BTH FECN and BECN
    public void VerifyIcrc_VariantFieldChanged_StillGood(int offset, byte value)
    {
        RocePacket packet = RoceTestFrames.Sample(IbOpcode.RcRdmaWriteOnly);
        byte[] frame = RoceTestFrames.Contiguous(ref packet, RoceTestFrames.Payload(100));
        frame[offset] = value;

        Assert.True(RoceCodec.VerifyIcrc(new WireFrame(frame)));
    }

    [Theory]
    [InlineData(0)]           // destination MAC: outside the ICRC, so still good
    [InlineData(23)]          // IP protocol
    [InlineData(30)]          // IP destination
    [InlineData(43)]          // BTH SE/M/pad/TVer
    [InlineData(49)]          // DestQP
    [InlineData(60)]          // RETH
    [InlineData(80)]          // payload
    [InlineData(-5)]          // last payload byte
    [InlineData(-1)]          // ICRC itself
    public void VerifyIcrc_InvariantByteFlipped_IsBad(int offset)
    {
        RocePacket packet = RoceTestFrames.Sample(IbOpcode.RcRdmaWriteOnly);
        byte[] frame = RoceTestFrames.Contiguous(ref packet, RoceTestFrames.Payload(100));
        frame[offset < 0 ? frame.Length + offset : offset] ^= 0x01;

        Assert.Equal(offset == 0, RoceCodec.VerifyIcrc(new WireFrame(frame)));   // the Ethernet header is outside the ICRC
    }

    [Fact]
    public void WriteTrailer_WithoutIcrc_WritesZeros()
    {
        RocePacket packet = RoceTestFrames.Sample(IbOpcode.RcSendOnly);
        byte[] frame = RoceTestFrames.Contiguous(ref packet, RoceTestFrames.Payload(6), computeIcrc: false);

        Assert.Equal(new byte[6], frame[^6..]);
        Assert.False(RoceCodec.VerifyIcrc(new WireFrame(frame)));
        Assert.True(RoceCodec.TryRead(new WireFrame(frame), out _, out _, out int payloadBytes));
        Assert.Equal(6, payloadBytes);
    }

    [Fact]
    public void ComputeIcrc_FrameTooShort_Throws() =>
        Assert.Throws<ArgumentException>(() => RoceCodec.ComputeIcrc(new WireFrame(new byte[57])));
}
