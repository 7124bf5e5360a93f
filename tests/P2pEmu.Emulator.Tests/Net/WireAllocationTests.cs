using System;
using System.IO;
using P2pEmu.Emulator.Devices.Net;
using Xunit;

namespace P2pEmu.Emulator.Tests.Net;

/// <summary>The send and receive path of a RoCE frame allocates nothing once warm, capture and ICRC included (STYLE R16).</summary>
public sealed class WireAllocationTests
{
    [Fact]
    public void SendAndReceive_WithCaptureAndIcrc_AllocatesNothing()
    {
        using var capture = new PcapWriter(Stream.Null);
        var link = new EthernetLink { Capture = capture };
        var requester = new Receiver();
        var responder = new Receiver();
        link.Connect(requester, responder);
        byte[] payload = RoceTestFrames.Payload(4096);
        RocePacket packet = RoceTestFrames.Sample(IbOpcode.RcRdmaWriteOnly);

        SendOne(link, requester, ref packet, payload);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            SendOne(link, requester, ref packet, payload);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(101, responder.Good);
    }

    private static void SendOne(EthernetLink link, IWireEndpoint from, ref RocePacket packet, ReadOnlySpan<byte> payload)
    {
        Span<byte> headers = stackalloc byte[RoceCodec.MaxHeaderBytes];
        Span<byte> trailer = stackalloc byte[RoceCodec.TrailerMaxBytes];
        int headerBytes = RoceCodec.WriteHeaders(headers, ref packet, payload.Length);
        int trailerBytes = RoceCodec.WriteTrailer(trailer, headers[..headerBytes], payload, packet.PadCount, link.NeedsIcrc);
        lock (link.SyncRoot)
        {
            link.Transmit(from, new WireFrame(headers[..headerBytes], payload, trailer[..trailerBytes]));
        }
    }

    private sealed class Receiver : IWireEndpoint
    {
        public int Good { get; private set; }

        public void Receive(in WireFrame frame)
        {
            if (RoceCodec.TryRead(frame, out RocePacket packet, out int headerBytes, out int payloadBytes)
                && RoceCodec.VerifyIcrc(frame)
                && packet.Opcode == IbOpcode.RcRdmaWriteOnly
                && RoceCodec.PayloadOf(frame, headerBytes, payloadBytes).Length == 4096)
            {
                Good++;
            }
        }
    }
}
