using System;
using P2pEmu.Emulator.Devices.Net;

namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>
/// The port: what arrives from the link (RoCE packets for a QP of this port go to the transport, everything else to
/// the Ethernet receive ring), what the transport sends, and the engine rounds that drive the send queues.
/// </summary>
public sealed partial class NicDevice : IRoceEndpoint
{
    /// <summary>Engine rounds one doorbell may run while QPs wait to retry (after a NAK, a timeout or a page fault).</summary>
    public const int MaxRoundsPerKick = 64;

    /// <summary>The RNR NAK timer field this port sends (IBA encoding 14: 1.28 ms; the link has no clock, see docs).</summary>
    private const byte RnrTimer = 14;

    /// <summary>RoCE packets dropped: for no QP of this port, a QP not ready to receive, or a response nobody waits for.</summary>
    public long PacketsDropped { get; private set; }

    /// <inheritdoc/>
    public void Receive(in WireFrame frame)
    {
        lock (SyncRoot)
        {
            if (RoceCodec.TryRead(frame, out RocePacket packet, out int headerBytes, out int payloadBytes)
                && packet.DestinationMac == Mac && packet.DestinationIp == _ipv4.Value)
            {
                ReceiveRoce(new RoceRun(packet), RoceCodec.PayloadOf(frame, headerBytes, payloadBytes));
                return;
            }

            ReceiveEthernet(frame);
        }
    }

    /// <inheritdoc/>
    public void ReceiveRun(in RoceRun run, ReadOnlySpan<byte> payload)
    {
        lock (SyncRoot)
        {
            ReceiveRoce(run, payload);
        }
    }

    private void ReceiveRoce(in RoceRun run, ReadOnlySpan<byte> payload)
    {
        uint qpn = run.First.DestinationQp;
        if (!_ready.IsSet || qpn == 0 || qpn >= MaxQps || _qps[qpn] is not NicQp qp
            || qp.State is not (NicQpState.ReadyToReceive or NicQpState.ReadyToSend))
        {
            PacketsDropped += run.Count;
            return;
        }

        IbOpcode opcode = run.First.Opcode;
        if (opcode is >= IbOpcode.RcRdmaReadResponseFirst and <= IbOpcode.RcAcknowledge)
        {
            ReceiveResponse(qp, run, payload);
        }
        else
        {
            ReceiveRequest(qp, run, payload);
        }
    }

    /// <summary>Headers common to every packet this QP sends: addresses and the destination QP.</summary>
    private RocePacket PacketFor(NicQp qp, IbOpcode opcode, uint psn) => new()
    {
        DestinationMac = qp.DestinationMac,
        SourceMac = Mac,
        SourceIp = _ipv4.Value,
        DestinationIp = qp.DestinationIp,
        UdpSourcePort = (ushort)(0xC000 | (qp.Qpn & 0x3FFF)),
        Opcode = opcode,
        DestinationQp = qp.DestinationQp,
        Psn = psn & NicQp.PsnMask,
    };

    /// <summary>Puts a run on the link (the link segments it when anyone looks); with no link it is lost.</summary>
    private void Send(in RoceRun run, ReadOnlySpan<byte> payload)
    {
        if (_link is EthernetLink link)
        {
            link.TransmitRun(this, run, payload);
        }
    }

    private void Transmit(in WireFrame frame) => _link?.Transmit(this, frame);

    /// <summary>An ACK (or NAK, by <paramref name="syndrome"/>) for <paramref name="psn"/>.</summary>
    private void SendAcknowledge(NicQp qp, uint psn, byte syndrome)
    {
        RocePacket ack = PacketFor(qp, IbOpcode.RcAcknowledge, psn);
        ack.Syndrome = syndrome;
        ack.Msn = qp.Msn & NicQp.PsnMask;
        Send(new RoceRun(ack), default);
    }

    private void SendRnrNak(NicQp qp, uint psn)
    {
        qp.NakOutstanding = true;
        SendAcknowledge(qp, psn, (byte)(AethSyndrome.RnrNak | RnrTimer));
    }

    /// <summary>The engine's work: rounds of send queue and transmit ring processing until nothing waits to retry.</summary>
    private void RunEngine()
    {
        for (int round = 0; round < MaxRoundsPerKick; round++)
        {
            bool retry;
            lock (SyncRoot)
            {
                retry = ProcessSendQueues();
                ProcessTransmitRing();
            }

            RaisePendingInterrupts();
            Peer?.RaisePendingInterrupts();
            if (!retry)
            {
                return;
            }
        }
    }

    /// <summary>PSN order within the 24-bit window: whether <paramref name="a"/> comes before <paramref name="b"/>.</summary>
    private static bool PsnBefore(uint a, uint b) => (unchecked(b - a) & NicQp.PsnMask) is > 0 and < 0x80_0000;
}
