using System;
using System.Buffers.Binary;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Devices.Net;

namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>
/// The responder: request packets are checked in PSN order, their rkeys checked against the key's PD, rights and
/// bounds, and their data placed (WRITE), scattered into the next receive WQE (SEND) or read back (READ). It answers
/// as InfiniBand RC does: an ACK at the end of each message, a NAK for an access or invalid-request error (and its QP
/// goes to Error), an RNR NAK when there is no receive WQE or a page must first be faulted in; after a local DMA failure
/// it goes to Error without answering, so the requester times out.
/// </summary>
public sealed partial class NicDevice
{
    /// <summary>Size of a receive queue WQE: wr_id, SGE count, and up to three SGEs.</summary>
    public const int RecvWqeBytes = 64;

    /// <summary>SGEs a receive WQE holds.</summary>
    public const int MaxRecvSges = 3;

    private void ReceiveRequest(NicQp qp, in RoceRun run, ReadOnlySpan<byte> payload)
    {
        unchecked
        {
            if (qp.State == NicQpState.Error)
            {
                PacketsDropped += run.Count;
                return;
            }

            RocePacket first = run.First;
            if (first.Psn != qp.ExpectedPsn)
            {
                if (PsnBefore(first.Psn, qp.ExpectedPsn))
                {
                    // A duplicate of something already done: acknowledge it again, do not do it twice (a READ is redone).
                    if (first.Opcode == IbOpcode.RcRdmaReadRequest)
                    {
                        RespondRead(qp, first, replay: true);
                    }
                    else if (run.EndsMessage || run.LastAckRequest)
                    {
                        SendAcknowledge(qp, (qp.ExpectedPsn - 1) & NicQp.PsnMask, AethSyndrome.AckUnlimitedCredits);
                    }

                    return;
                }

                if (!qp.NakOutstanding)
                {
                    qp.NakOutstanding = true;
                    SendAcknowledge(qp, qp.ExpectedPsn, AethSyndrome.NakPsnSequenceError);
                }

                PacketsDropped += run.Count;
                return;
            }

            qp.NakOutstanding = false;

            IbOpcode opcode = first.Opcode;
            if (opcode == IbOpcode.RcRdmaReadRequest)
            {
                RespondRead(qp, first, replay: false);
            }
            else if (opcode is >= IbOpcode.RcRdmaWriteFirst and <= IbOpcode.RcRdmaWriteOnlyWithImmediate)
            {
                RespondWrite(qp, run, payload);
            }
            else
            {
                RespondSend(qp, run, payload);
            }
        }
    }

    private static bool StartsMessage(IbOpcode opcode) => opcode is IbOpcode.RcSendFirst or IbOpcode.RcSendOnly
        or IbOpcode.RcSendOnlyWithImmediate or IbOpcode.RcRdmaWriteFirst or IbOpcode.RcRdmaWriteOnly
        or IbOpcode.RcRdmaWriteOnlyWithImmediate;

    private void RespondWrite(NicQp qp, in RoceRun run, ReadOnlySpan<byte> payload)
    {
        unchecked
        {
            RocePacket first = run.First;
            if (StartsMessage(first.Opcode))
            {
                if (qp.Responding != NicResponderKind.None)
                {
                    RequestError(qp, first.Psn, AethSyndrome.NakInvalidRequest);
                    return;
                }

                NicMkey? mkey = (qp.Access & NicAccess.RemoteWrite) == 0 ? null
                    : CheckKey(first.RKey, qp.Pd, NicAccess.RemoteWrite, first.VirtualAddress, first.DmaLength);
                if (mkey is null)
                {
                    RequestError(qp, first.Psn, AethSyndrome.NakRemoteAccessError);
                    return;
                }

                var target = new NicSegment(mkey, first.VirtualAddress, first.DmaLength);
                NicMkeyLookup present = CheckPresent([target], qp.Qpn, raise: true);
                if (present == NicMkeyLookup.NotPresent)
                {
                    SendRnrNak(qp, first.Psn);
                    return;
                }

                if (present == NicMkeyLookup.Error)
                {
                    RequestError(qp, first.Psn, AethSyndrome.NakRemoteAccessError);
                    return;
                }

                qp.WriteTarget = target;
                qp.RespondOffset = 0;
                qp.Responding = NicResponderKind.Write;
            }
            else if (qp.Responding != NicResponderKind.Write)
            {
                RequestError(qp, first.Psn, AethSyndrome.NakInvalidRequest);
                return;
            }

            bool withImmediate = run.LastOpcode is IbOpcode.RcRdmaWriteLastWithImmediate or IbOpcode.RcRdmaWriteOnlyWithImmediate;
            if (withImmediate && run.EndsMessage && !TryTakeRecvWqe(qp, out bool failed))
            {
                if (!failed)
                {
                    SendRnrNak(qp, run.LastPsn);
                }

                return;
            }

            PlaceStatus placed = Place([qp.WriteTarget], qp.RespondOffset, payload);
            if (!Placed(qp, run, placed))
            {
                return;
            }

            if (!Advance(qp, run, payload.Length))
            {
                return;
            }

            if (qp.RespondOffset != qp.WriteTarget.Length)
            {
                RequestError(qp, run.LastPsn, AethSyndrome.NakInvalidRequest);
                return;
            }

            if (withImmediate)
            {
                CompleteRecv(qp, NicWcOpcode.RecvRdmaWithImmediate, NicWcStatus.Success, run.LastImmediate, withImmediate: true);
            }

            qp.Msn++;
            SendAcknowledge(qp, run.LastPsn, AethSyndrome.AckUnlimitedCredits);
        }
    }

    private void RespondSend(NicQp qp, in RoceRun run, ReadOnlySpan<byte> payload)
    {
        unchecked
        {
            RocePacket first = run.First;
            if (StartsMessage(first.Opcode))
            {
                if (qp.Responding != NicResponderKind.None)
                {
                    RequestError(qp, first.Psn, AethSyndrome.NakInvalidRequest);
                    return;
                }

                if (!TryTakeRecvWqe(qp, out bool failed))
                {
                    if (!failed)
                    {
                        SendRnrNak(qp, first.Psn);
                    }

                    return;
                }

                qp.RespondOffset = 0;
                qp.Responding = NicResponderKind.Send;
            }
            else if (qp.Responding != NicResponderKind.Send)
            {
                RequestError(qp, first.Psn, AethSyndrome.NakInvalidRequest);
                return;
            }

            PlaceStatus placed = Place(qp.RecvSegments.AsSpan(0, qp.RecvSegmentCount), qp.RespondOffset, payload);
            if (placed == PlaceStatus.Overflow)
            {
                CompleteRecv(qp, NicWcOpcode.Recv, NicWcStatus.LocalLengthError, 0, withImmediate: false);
                RequestError(qp, first.Psn, AethSyndrome.NakInvalidRequest);
                return;
            }

            if (!Placed(qp, run, placed))
            {
                return;
            }

            if (!Advance(qp, run, payload.Length))
            {
                return;
            }

            bool withImmediate = run.LastOpcode is IbOpcode.RcSendLastWithImmediate or IbOpcode.RcSendOnlyWithImmediate;
            CompleteRecv(qp, NicWcOpcode.Recv, NicWcStatus.Success, withImmediate ? run.LastImmediate : 0, withImmediate);
            qp.Msn++;
            SendAcknowledge(qp, run.LastPsn, AethSyndrome.AckUnlimitedCredits);
        }
    }

    /// <summary>
    /// Counts a placed run: the responder's offset and expected PSN move past it. Mid-message, an AckReq is answered
    /// and false returned; at the message's end the responder is free for the next one and true returned.
    /// </summary>
    private bool Advance(NicQp qp, in RoceRun run, int payloadBytes)
    {
        unchecked
        {
            qp.RespondOffset += (ulong)payloadBytes;
            qp.ExpectedPsn = (run.LastPsn + 1) & NicQp.PsnMask;
        }

        if (!run.EndsMessage)
        {
            if (run.LastAckRequest)
            {
                SendAcknowledge(qp, run.LastPsn, AethSyndrome.AckUnlimitedCredits);
            }

            return false;
        }

        qp.Responding = NicResponderKind.None;
        return true;
    }

    /// <summary>What a placement failure does to the responder; true when the data was placed.</summary>
    private bool Placed(NicQp qp, in RoceRun run, PlaceStatus placed)
    {
        switch (placed)
        {
            case PlaceStatus.Ok:
                return true;
            case PlaceStatus.Overflow:
                RequestError(qp, run.First.Psn, AethSyndrome.NakInvalidRequest);
                return false;
            case PlaceStatus.NotPresent:
                // Zapped after the message was checked: fault it in and have the requester retry.
                CheckPresent([qp.WriteTarget], qp.Qpn, raise: true);
                qp.Responding = NicResponderKind.None;
                SendRnrNak(qp, run.First.Psn);
                return false;
            case PlaceStatus.Error:
                RequestError(qp, run.First.Psn, AethSyndrome.NakRemoteAccessError);
                return false;
            default:
                // The fabric refused the write: this QP is broken and says nothing more; the requester times out.
                if (qp.HasRecvWqe)
                {
                    CompleteRecv(qp, NicWcOpcode.Recv, NicWcStatus.LocalProtectionError, 0, withImmediate: false);
                }

                QpFatal(qp);
                return false;
        }
    }

    /// <summary>NAKs a request and puts the responder QP in Error, as an RC responder does for class C errors.</summary>
    private void RequestError(NicQp qp, uint psn, byte syndrome)
    {
        qp.Responding = NicResponderKind.None;
        SendAcknowledge(qp, psn, syndrome);
        qp.State = NicQpState.Error;
    }

    private void RespondRead(NicQp qp, in RocePacket request, bool replay)
    {
        unchecked
        {
            if (!replay && qp.Responding != NicResponderKind.None)
            {
                RequestError(qp, request.Psn, AethSyndrome.NakInvalidRequest);
                return;
            }

            ulong length = request.DmaLength;
            NicMkey? mkey = (qp.Access & NicAccess.RemoteRead) == 0 ? null
                : CheckKey(request.RKey, qp.Pd, NicAccess.RemoteRead, request.VirtualAddress, length);
            if (mkey is null || length > MaxMessageBytes)
            {
                RequestError(qp, request.Psn, AethSyndrome.NakRemoteAccessError);
                return;
            }

            var source = new NicSegment(mkey, request.VirtualAddress, length);
            NicMkeyLookup present = CheckPresent([source], qp.Qpn, raise: true);
            if (present == NicMkeyLookup.NotPresent)
            {
                // No response while the page is faulted in: the requester times out and asks again.
                return;
            }

            if (present == NicMkeyLookup.Error)
            {
                RequestError(qp, request.Psn, AethSyndrome.NakRemoteAccessError);
                return;
            }

            int packets = PacketCount(length, qp.Mtu);
            if (!replay)
            {
                qp.ExpectedPsn = (request.Psn + (uint)packets) & NicQp.PsnMask;
                qp.Msn++;
            }

            var message = new TxMessage { Qp = qp, Kind = TxKind.ReadResponse, Psn = request.Psn, Packets = packets, Length = length, Mtu = qp.Mtu };
            TxStatus sent = Emit(message, [source]);
            if (sent is TxStatus.DmaFault or TxStatus.TranslationFault)
            {
                QpFatal(qp);
            }
        }
    }

    /// <summary>
    /// The receive WQE at the head of the RQ, fetched and its SGEs checked (kept until its completion). False when
    /// there is none (the caller sends an RNR NAK) or, with <paramref name="failed"/>, when it is bad (completed in
    /// error, the requester NAKed, the QP in Error) or its buffers must first be faulted in (an RNR NAK was sent).
    /// </summary>
    private bool TryTakeRecvWqe(NicQp qp, out bool failed)
    {
        unchecked
        {
            failed = false;
            if (!qp.HasRecvWqe)
            {
                if (qp.RqConsumer == qp.RqProducer || qp.RqProducer - qp.RqConsumer > qp.RqEntries)
                {
                    return false;
                }

                Span<byte> wqe = stackalloc byte[RecvWqeBytes];
                DmaAddress slot = Slot(qp.RqRing.Value, qp.RqConsumer, qp.RqEntries, RecvWqeBytes);
                if (!Dma.Read(slot, wqe).IsSuccess)
                {
                    failed = true;
                    QpFatal(qp);
                    return false;
                }

                qp.RecvWrId = BinaryPrimitives.ReadUInt64LittleEndian(wqe);
                int count = BinaryPrimitives.ReadUInt16LittleEndian(wqe[8..]);
                qp.HasRecvWqe = true;
                qp.RecvSegmentCount = 0;
                if (count > MaxRecvSges)
                {
                    return RecvWqeError(qp, NicWcStatus.LocalQpOperationError, AethSyndrome.NakRemoteOperationalError, out failed);
                }

                for (int i = 0; i < count; i++)
                {
                    ReadOnlySpan<byte> sge = wqe.Slice(16 + (16 * i), 16);
                    ulong va = BinaryPrimitives.ReadUInt64LittleEndian(sge);
                    uint length = BinaryPrimitives.ReadUInt32LittleEndian(sge[8..]);
                    NicMkey? mkey = CheckKey(BinaryPrimitives.ReadUInt32LittleEndian(sge[12..]), qp.Pd, NicAccess.LocalWrite, va, length);
                    if (mkey is null)
                    {
                        return RecvWqeError(qp, NicWcStatus.LocalProtectionError, AethSyndrome.NakRemoteOperationalError, out failed);
                    }

                    qp.RecvSegments[i] = new NicSegment(mkey, va, length);
                }

                qp.RecvSegmentCount = count;
            }

            NicMkeyLookup present = CheckPresent(qp.RecvSegments.AsSpan(0, qp.RecvSegmentCount), qp.Qpn, raise: true);
            if (present == NicMkeyLookup.Error)
            {
                return RecvWqeError(qp, NicWcStatus.LocalProtectionError, AethSyndrome.NakRemoteOperationalError, out failed);
            }

            if (present == NicMkeyLookup.NotPresent)
            {
                failed = true;
                SendRnrNak(qp, qp.ExpectedPsn);
                return false;
            }

            return true;
        }
    }

    private bool RecvWqeError(NicQp qp, NicWcStatus status, byte syndrome, out bool failed)
    {
        failed = true;
        CompleteRecv(qp, NicWcOpcode.Recv, status, 0, withImmediate: false);
        RequestError(qp, qp.ExpectedPsn, syndrome);
        return false;
    }

    /// <summary>Completes the receive WQE in use (with <paramref name="status"/>) and consumes it.</summary>
    private void CompleteRecv(NicQp qp, NicWcOpcode opcode, NicWcStatus status, uint immediate, bool withImmediate)
    {
        unchecked
        {
            uint byteLength = status == NicWcStatus.Success ? (uint)qp.RespondOffset : 0;
            PostCqe(qp.RecvCq, qp.RecvWrId, byteLength, immediate, qp.Qpn, status, opcode, withImmediate, qp.DestinationQp);
            qp.HasRecvWqe = false;
            qp.RqConsumer++;
        }
    }
}
