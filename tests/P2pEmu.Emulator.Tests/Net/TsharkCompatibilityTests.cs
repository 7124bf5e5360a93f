using System;
using System.Buffers.Binary;
using System.Globalization;
using System.IO;
using P2pEmu.Emulator.Devices.Net;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Emulator.Tests.Net;

/// <summary>
/// The real tshark reads a capture the link wrote: every packet decodes as RoCEv2 with the values written, and
/// Wireshark finds the ICRC where the frame says it is. Expectations come from the packets written, never from tshark.
/// </summary>
/// <remarks>
/// Wireshark 4.0 shows the ICRC (infiniband.invariant.crc, read as a big-endian number) but does not check it;
/// the ICRC's value is checked against scapy and an independent implementation in <see cref="IcrcTests"/>.
/// </remarks>
public sealed class TsharkCompatibilityTests
{
    private static readonly string[] s_fields =
    [
        "frame.protocols", "infiniband.bth.opcode", "infiniband.bth.destqp", "infiniband.bth.psn", "infiniband.bth.padcnt",
        "infiniband.bth.se", "infiniband.bth.a", "infiniband.bth.p_key",
        "infiniband.reth.va", "infiniband.reth.r_key", "infiniband.reth.dmalen",
        "infiniband.aeth.syndrome", "infiniband.aeth.msn", "infiniband.immdt", "infiniband.invariant.crc", "_ws.expert",
    ];

    private static readonly (IbOpcode Opcode, int PayloadBytes)[] s_packets =
    [
        (IbOpcode.RcRdmaWriteFirst, 1024),
        (IbOpcode.RcRdmaWriteMiddle, 1024),
        (IbOpcode.RcRdmaWriteLast, 333),
        (IbOpcode.RcRdmaWriteOnly, 64),
        (IbOpcode.RcRdmaReadRequest, 0),
        (IbOpcode.RcRdmaReadResponseFirst, 1024),
        (IbOpcode.RcRdmaReadResponseLast, 7),
        (IbOpcode.RcSendOnly, 5),
        (IbOpcode.RcSendOnlyWithImmediate, 18),
        (IbOpcode.RcAcknowledge, 0),
    ];

    [TsharkFact]
    public void Tshark_DecodesEveryPacketOfACapture_WithTheValuesWritten()
    {
        string path = Path.Combine(Path.GetTempPath(), $"p2pemu-roce-{Guid.NewGuid():N}.pcap");
        var expected = new RocePacket[s_packets.Length];
        var icrcs = new uint[s_packets.Length];
        try
        {
            using (PcapWriter capture = PcapWriter.Create(path))
            {
                var link = new EthernetLink { Capture = capture };
                var requester = new Sink();
                link.Connect(requester, new Sink());
                Span<byte> headers = stackalloc byte[RoceCodec.MaxHeaderBytes];
                Span<byte> trailer = stackalloc byte[RoceCodec.TrailerMaxBytes];
                for (int i = 0; i < s_packets.Length; i++)
                {
                    (IbOpcode opcode, int payloadBytes) = s_packets[i];
                    RocePacket packet = RoceTestFrames.Sample(opcode, psn: 0x00FF_FFF0u + (uint)i);    // wraps through 0
                    packet.DestinationQp = 0x000100u + (uint)i;
                    byte[] payload = RoceTestFrames.Payload(payloadBytes);
                    int headerBytes = RoceCodec.WriteHeaders(headers, ref packet, payloadBytes);
                    int trailerBytes = RoceCodec.WriteTrailer(trailer, headers[..headerBytes], payload, packet.PadCount, link.NeedsIcrc);
                    icrcs[i] = BinaryPrimitives.ReadUInt32BigEndian(trailer[(trailerBytes - 4)..]);
                    packet.Psn &= 0xFF_FFFF;
                    expected[i] = packet;
                    link.Transmit(requester, new WireFrame(headers[..headerBytes], payload, trailer[..trailerBytes]));
                }
            }

            string[][] rows = TsharkTool.Fields(path, s_fields);

            Assert.Equal(s_packets.Length, rows.Length);
            for (int i = 0; i < rows.Length; i++)
            {
                string[] row = rows[i];
                RocePacket packet = expected[i];
                string what = $"packet {i} ({packet.Opcode}): {string.Join('|', row)}";
                Assert.True(row[0].Contains(":udp:infiniband", StringComparison.Ordinal), what);
                Assert.True(Number(row[1]) == (ulong)packet.Opcode, what);
                Assert.True(Number(row[2]) == packet.DestinationQp, what);
                Assert.True(Number(row[3]) == packet.Psn, what);
                Assert.True(Number(row[4]) == (ulong)packet.PadCount, what);
                Assert.True(Flag(row[5]) == packet.SolicitedEvent, what);
                Assert.True(Flag(row[6]) == packet.AckRequest, what);
                Assert.True(Number(row[7]) == packet.PartitionKey, what);
                if (RocePacket.HasReth(packet.Opcode))
                {
                    Assert.True(Number(row[8]) == packet.VirtualAddress, what);
                    Assert.True(Number(row[9]) == packet.RKey, what);
                    Assert.True(Number(row[10]) == packet.DmaLength, what);
                }
                else
                {
                    Assert.True(row[8].Length == 0 && row[9].Length == 0 && row[10].Length == 0, what);
                }

                if (RocePacket.HasAeth(packet.Opcode))
                {
                    Assert.True(Number(row[11]) == packet.Syndrome, what);
                    Assert.True(Number(row[12]) == packet.Msn, what);
                }
                else
                {
                    Assert.True(row[11].Length == 0 && row[12].Length == 0, what);
                }

                // Wireshark 4.0 adds infiniband.immdt twice (the header and its value), so tshark prints "v,v".
                string immediate = packet.Immediate.ToString("x8", CultureInfo.InvariantCulture);
                Assert.True(RocePacket.HasImmediate(packet.Opcode)
                    ? Array.TrueForAll(row[13].Split(','), v => string.Equals(v, immediate, StringComparison.Ordinal))
                    : row[13].Length == 0, what);
                Assert.True(Number(row[14]) == icrcs[i], what);
                Assert.True(row[15].Length == 0, what);                 // no expert info: nothing malformed
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static ulong Number(string field) => field.StartsWith("0x", StringComparison.Ordinal)
        ? ulong.Parse(field.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)
        : ulong.Parse(field, NumberStyles.None, CultureInfo.InvariantCulture);

    private static bool Flag(string field) => field is "1" or "True";

    private sealed class Sink : IWireEndpoint
    {
        public void Receive(in WireFrame frame)
        {
            Assert.True(RoceCodec.TryRead(frame, out _, out _, out _));
            Assert.True(RoceCodec.VerifyIcrc(frame));
        }
    }
}
