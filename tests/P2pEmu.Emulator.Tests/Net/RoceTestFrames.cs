using System;
using P2pEmu.Emulator.Devices.Net;

namespace P2pEmu.Emulator.Tests.Net;

/// <summary>Sample packets for the wire tests, with every field the opcode carries set to a distinct value.</summary>
internal static class RoceTestFrames
{
    public static readonly MacAddress MacA = new(0x02_00_00_00_00_01);
    public static readonly MacAddress MacB = new(0x02_00_00_00_00_02);

    public static IbOpcode[] AllOpcodes { get; } = Enum.GetValues<IbOpcode>();

    /// <summary>A packet for <paramref name="opcode"/>; fields the opcode does not carry are zero, as TryRead returns them.</summary>
    public static RocePacket Sample(IbOpcode opcode, uint psn = 0x123456) => new()
    {
        DestinationMac = MacB,
        SourceMac = MacA,
        SourceIp = 0x0A000001,
        DestinationIp = 0x0A000002,
        UdpSourcePort = 0xC001,
        Opcode = opcode,
        SolicitedEvent = opcode is IbOpcode.RcSendOnly or IbOpcode.RcSendLast,
        AckRequest = true,
        PartitionKey = 0xFFFF,
        DestinationQp = 0xABCDEF,
        Psn = psn,
        VirtualAddress = RocePacket.HasReth(opcode) ? 0x0000_7F12_3456_7000UL : 0,
        RKey = RocePacket.HasReth(opcode) ? 0x1234_5678u : 0,
        DmaLength = RocePacket.HasReth(opcode) ? 0x0001_0000u : 0,
        Syndrome = RocePacket.HasAeth(opcode) ? AethSyndrome.AckUnlimitedCredits : (byte)0,
        Msn = RocePacket.HasAeth(opcode) ? 0x00FE_DCBAu : 0,
        Immediate = RocePacket.HasImmediate(opcode) ? 0xDEAD_BEEFu : 0,
    };

    /// <summary>A payload of <paramref name="bytes"/> bytes that differ from each other.</summary>
    public static byte[] Payload(int bytes)
    {
        var payload = new byte[bytes];
        for (int i = 0; i < bytes; i++)
        {
            payload[i] = unchecked((byte)((i * 7) + 1));
        }

        return payload;
    }

    /// <summary>The bytes a payload of this length carries for <paramref name="opcode"/>: none for READ Request and Acknowledge.</summary>
    public static int PayloadBytesFor(IbOpcode opcode, int wanted) => RocePacket.HasPayload(opcode) ? wanted : 0;

    /// <summary>Writes headers, payload and trailer into one array, the way a contiguous frame arrives.</summary>
    public static byte[] Contiguous(ref RocePacket packet, ReadOnlySpan<byte> payload, bool computeIcrc = true)
    {
        Span<byte> headers = stackalloc byte[RoceCodec.MaxHeaderBytes];
        int headerBytes = RoceCodec.WriteHeaders(headers, ref packet, payload.Length);
        Span<byte> trailer = stackalloc byte[RoceCodec.TrailerMaxBytes];
        int trailerBytes = RoceCodec.WriteTrailer(trailer, headers[..headerBytes], payload, packet.PadCount, computeIcrc);
        var frame = new byte[headerBytes + payload.Length + trailerBytes];
        new WireFrame(headers[..headerBytes], payload, trailer[..trailerBytes]).CopyTo(frame);
        return frame;
    }
}
