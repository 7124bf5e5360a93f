using System;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Devices.Net;
using P2pEmu.Emulator.Fabric;

namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>
/// Sending a message's payload: SENDs and WRITEs from the requester's SGEs, READ responses from the responder's key.
/// The payload is cut at the path MTU into packets with the right opcodes, PSNs and extension headers, and read in
/// place from memory (<see cref="DmaPort.ReadInPlace"/>): whole packets go out straight from the source bytes, and only
/// a packet that straddles two pieces (a page or SGE boundary inside it) is gathered into a buffer first.
/// </summary>
public sealed partial class NicDevice
{
    private readonly byte[] _txScratch = new byte[4096];
    private DmaSpanReader? _txReader;
    private TxMessage _tx;
    private int _txNext;
    private int _txFill;
    private bool _txStopped;

    private enum TxKind
    {
        Send,
        Write,
        ReadResponse,
    }

    private enum TxStatus
    {
        Sent,

        /// <summary>A NAK came back while the message was going out; the rest was not sent.</summary>
        Stopped,

        /// <summary>A key entry was not present or in error (a zap raced the send).</summary>
        TranslationFault,

        /// <summary>The fabric refused a read of the payload.</summary>
        DmaFault,
    }

    /// <summary>What the packets of the message being sent carry.</summary>
    private struct TxMessage
    {
        public NicQp Qp;
        public TxKind Kind;
        public uint Psn;
        public int Packets;
        public ulong Length;
        public int Mtu;
        public bool WithImmediate;
        public uint Immediate;
        public ulong RemoteVa;
        public uint RKey;
    }

    private static int PacketCount(ulong length, int mtu) => length == 0 ? 1 : (int)((length + (ulong)mtu - 1) / (ulong)mtu);

    /// <summary>Sends the message <paramref name="message"/> whose payload is <paramref name="source"/>, in order.</summary>
    private TxStatus Emit(in TxMessage message, ReadOnlySpan<NicSegment> source)
    {
        _tx = message;
        _txNext = 0;
        _txFill = 0;
        _txStopped = false;
        if (message.Length == 0)
        {
            SendPackets(0, 1, default);
            return StoppedByNak() ? TxStatus.Stopped : TxStatus.Sent;
        }

        _txReader ??= OnTxPiece;
        foreach (NicSegment segment in source)
        {
            ulong at = 0;
            while (at < segment.Length)
            {
                if (segment.Mkey.Translate(segment.Va + at, segment.Length - at, out DmaAddress address, out ulong contiguous) != NicMkeyLookup.Ok)
                {
                    return TxStatus.TranslationFault;
                }

                DmaResult read = TryOwnMemory(address, contiguous, out Span<byte> own)
                    ? Local(own)
                    : Dma.ReadInPlace(address, contiguous, _txReader);
                at += read.BytesTransferred;
                if (_txStopped)
                {
                    return TxStatus.Stopped;
                }

                if (!read.IsSuccess)
                {
                    return TxStatus.DmaFault;
                }
            }
        }

        return TxStatus.Sent;
    }

    /// <summary>Sends from the device's own memory (see <see cref="TryOwnMemory"/>), as <see cref="DmaPort.ReadInPlace"/> would.</summary>
    private DmaResult Local(ReadOnlySpan<byte> own)
    {
        OnTxPiece(own);
        return DmaResult.Completed((ulong)own.Length);
    }

    private bool StoppedByNak() => _tx.Kind != TxKind.ReadResponse && _tx.Qp.NakSyndrome is not null;

    private int PacketBytes(int index) =>
        index < _tx.Packets - 1 ? _tx.Mtu : (int)(_tx.Length - ((ulong)(_tx.Packets - 1) * (ulong)_tx.Mtu));

    private bool OnTxPiece(ReadOnlySpan<byte> piece)
    {
        while (!piece.IsEmpty)
        {
            int index = _txNext;
            int want = PacketBytes(index);
            if (_txFill == 0 && piece.Length >= want)
            {
                int count = 1;
                int bytes = want;
                while (index + count < _tx.Packets && piece.Length - bytes >= PacketBytes(index + count))
                {
                    bytes += PacketBytes(index + count);
                    count++;
                }

                SendPackets(index, count, piece[..bytes]);
                piece = piece[bytes..];
                _txNext += count;
            }
            else
            {
                int n = Math.Min(want - _txFill, piece.Length);
                piece[..n].CopyTo(_txScratch.AsSpan(_txFill));
                _txFill += n;
                piece = piece[n..];
                if (_txFill == want)
                {
                    SendPackets(index, 1, _txScratch.AsSpan(0, want));
                    _txFill = 0;
                    _txNext++;
                }
            }

            if (StoppedByNak())
            {
                _txStopped = true;
                return false;
            }
        }

        return true;
    }

    /// <summary>Sends packets <paramref name="index"/> … +<paramref name="count"/> of the message as one run.</summary>
    private void SendPackets(int index, int count, ReadOnlySpan<byte> payload)
    {
        unchecked
        {
            ref readonly TxMessage m = ref _tx;
            int last = index + count - 1;
            RocePacket first = PacketFor(m.Qp, OpcodeAt(index), m.Psn + (uint)index);
            if (index == 0 && m.Kind == TxKind.Write)
            {
                first.VirtualAddress = m.RemoteVa;
                first.RKey = m.RKey;
                first.DmaLength = (uint)m.Length;
            }

            if (m.Kind == TxKind.ReadResponse)
            {
                first.Syndrome = AethSyndrome.AckUnlimitedCredits;
                first.Msn = m.Qp.Msn & NicQp.PsnMask;
            }

            bool endsMessage = last == m.Packets - 1;
            uint immediate = endsMessage && m.WithImmediate ? m.Immediate : 0;
            bool ackRequest = endsMessage && m.Kind != TxKind.ReadResponse;
            if (count == 1)
            {
                first.Immediate = immediate;
                first.AckRequest = ackRequest;
            }

            Send(new RoceRun(first, count, m.Mtu, OpcodeAt(last), immediate, ackRequest), payload);
        }
    }

    private IbOpcode OpcodeAt(int index)
    {
        ref readonly TxMessage m = ref _tx;
        bool only = m.Packets == 1;
        bool first = index == 0;
        bool last = index == m.Packets - 1;
        return m.Kind switch
        {
            TxKind.Send when only => m.WithImmediate ? IbOpcode.RcSendOnlyWithImmediate : IbOpcode.RcSendOnly,
            TxKind.Send when first => IbOpcode.RcSendFirst,
            TxKind.Send when last => m.WithImmediate ? IbOpcode.RcSendLastWithImmediate : IbOpcode.RcSendLast,
            TxKind.Send => IbOpcode.RcSendMiddle,
            TxKind.Write when only => m.WithImmediate ? IbOpcode.RcRdmaWriteOnlyWithImmediate : IbOpcode.RcRdmaWriteOnly,
            TxKind.Write when first => IbOpcode.RcRdmaWriteFirst,
            TxKind.Write when last => m.WithImmediate ? IbOpcode.RcRdmaWriteLastWithImmediate : IbOpcode.RcRdmaWriteLast,
            TxKind.Write => IbOpcode.RcRdmaWriteMiddle,
            _ when only => IbOpcode.RcRdmaReadResponseOnly,
            _ when first => IbOpcode.RcRdmaReadResponseFirst,
            _ when last => IbOpcode.RcRdmaReadResponseLast,
            _ => IbOpcode.RcRdmaReadResponseMiddle,
        };
    }
}
