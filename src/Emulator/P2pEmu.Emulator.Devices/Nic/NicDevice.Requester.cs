using System;
using System.Buffers.Binary;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Devices.Net;

namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>
/// The requester: send queue WQEs (64 bytes: opcode, flags, SGE count, immediate, wr_id, remote address, rkey, up to
/// two SGEs) become request packets; ACKs, NAKs and READ responses decide each WQE's completion. The link is lossless
/// and delivers synchronously, so a response that has not arrived when the request is out will never arrive: that is
/// the transport timeout, and the WQE is sent again (from its first PSN) on the next round while retries last.
/// </summary>
public sealed partial class NicDevice
{
    /// <summary>Size of a send queue WQE.</summary>
    public const int SendWqeBytes = 64;

    /// <summary>SGEs a send WQE holds.</summary>
    public const int MaxSendSges = 2;

    /// <summary>Largest message: 2^31 bytes, as InfiniBand allows.</summary>
    public const ulong MaxMessageBytes = 1UL << 31;

    private const byte SendSignaled = 2;
    private const byte SendFlagsKnown = 1 | 2 | 4; // FENCE, SIGNALED, SOLICITED (INLINE is not supported)

    private readonly NicSegment[] _sendSegments = new NicSegment[MaxSendSges];

    private enum SendOutcome
    {
        Completed,

        /// <summary>Try the WQE again next round (NAK asking for it, timeout, page fault raised).</summary>
        Retry,

        /// <summary>The WQE waits for something outside the device (a fault the driver did not resolve).</summary>
        Wait,
    }

    /// <summary>Processes every QP's send queue; true when some QP waits to retry next round.</summary>
    private bool ProcessSendQueues()
    {
        unchecked
        {
            if (!_ready.IsSet)
            {
                return false;
            }

            bool retry = false;
            Span<byte> wqe = stackalloc byte[SendWqeBytes];
            foreach (NicQp? candidate in _qps)
            {
                if (candidate is not NicQp qp)
                {
                    continue;
                }

                while (qp.SqConsumer != qp.SqProducer && qp.SqProducer - qp.SqConsumer <= qp.SqEntries
                    && qp.State is NicQpState.ReadyToSend or NicQpState.Error)
                {
                    DmaAddress slot = Slot(qp.SqRing.Value, qp.SqConsumer, qp.SqEntries, SendWqeBytes);
                    if (!Dma.Read(slot, wqe).IsSuccess)
                    {
                        QpFatal(qp);
                        break;
                    }

                    ulong wrId = BinaryPrimitives.ReadUInt64LittleEndian(wqe[8..]);
                    var opcode = (NicWrOpcode)wqe[0];
                    if (qp.State == NicQpState.Error)
                    {
                        PostCqe(qp.SendCq, wrId, 0, 0, qp.Qpn, NicWcStatus.WrFlushError, CompletionOpcode(opcode), false, qp.SqConsumer);
                        qp.SqConsumer++;
                        continue;
                    }

                    SendOutcome outcome = ExecuteSend(qp, wqe, out NicWcStatus status, out uint byteLength);
                    if (outcome == SendOutcome.Retry)
                    {
                        retry = true;
                        break;
                    }

                    if (outcome == SendOutcome.Wait)
                    {
                        break;
                    }

                    if (status != NicWcStatus.Success || (wqe[1] & SendSignaled) != 0)
                    {
                        PostCqe(qp.SendCq, wrId, byteLength, 0, qp.Qpn, status, CompletionOpcode(opcode), false, qp.SqConsumer);
                    }

                    if (status != NicWcStatus.Success)
                    {
                        qp.State = NicQpState.Error;
                    }

                    qp.SqConsumer++;
                    qp.RetriesLeft = qp.RnrRetriesLeft = -1;
                    qp.WaitingForFault = false;
                }
            }

            return retry;
        }
    }

    private static NicWcOpcode CompletionOpcode(NicWrOpcode opcode) => opcode switch
    {
        NicWrOpcode.RdmaWrite or NicWrOpcode.RdmaWriteWithImmediate => NicWcOpcode.RdmaWrite,
        NicWrOpcode.RdmaRead => NicWcOpcode.RdmaRead,
        _ => NicWcOpcode.Send,
    };

    /// <summary>A local DMA failure (a ring read, a CQE write): the QP goes to Error and the driver hears of it.</summary>
    private void QpFatal(NicQp qp)
    {
        qp.State = NicQpState.Error;
        PostEvent(NicEventType.QpFatal, qp.Qpn, 0, 0, qp.Qpn);
    }

    private SendOutcome ExecuteSend(NicQp qp, ReadOnlySpan<byte> wqe, out NicWcStatus status, out uint byteLength)
    {
        unchecked
        {
            byteLength = 0;
            var opcode = (NicWrOpcode)wqe[0];
            byte flags = wqe[1];
            int sgeCount = BinaryPrimitives.ReadUInt16LittleEndian(wqe[2..]);
            if (opcode > NicWrOpcode.RdmaRead || sgeCount > MaxSendSges || (flags & ~SendFlagsKnown) != 0)
            {
                status = NicWcStatus.LocalQpOperationError;
                return SendOutcome.Completed;
            }

            bool isRead = opcode == NicWrOpcode.RdmaRead;
            ulong length = 0;
            for (int i = 0; i < sgeCount; i++)
            {
                ReadOnlySpan<byte> sge = wqe.Slice(32 + (16 * i), 16);
                ulong va = BinaryPrimitives.ReadUInt64LittleEndian(sge);
                uint sgeLength = BinaryPrimitives.ReadUInt32LittleEndian(sge[8..]);
                uint lkey = BinaryPrimitives.ReadUInt32LittleEndian(sge[12..]);
                NicMkey? mkey = CheckKey(lkey, qp.Pd, isRead ? NicAccess.LocalWrite : NicAccess.None, va, sgeLength);
                if (mkey is null)
                {
                    status = NicWcStatus.LocalProtectionError;
                    return SendOutcome.Completed;
                }

                _sendSegments[i] = new NicSegment(mkey, va, sgeLength);
                length += sgeLength;
            }

            if (length > MaxMessageBytes)
            {
                status = NicWcStatus.LocalLengthError;
                return SendOutcome.Completed;
            }

            ReadOnlySpan<NicSegment> segments = _sendSegments.AsSpan(0, sgeCount);
            NicMkeyLookup present = CheckPresent(segments, qp.Qpn, raise: !qp.WaitingForFault);
            if (present == NicMkeyLookup.Error)
            {
                status = NicWcStatus.LocalProtectionError;
                return SendOutcome.Completed;
            }

            status = NicWcStatus.Success;
            if (present == NicMkeyLookup.NotPresent)
            {
                // Raised once: the next round finds it mapped (the driver resolved it in its interrupt) or waits.
                bool first = !qp.WaitingForFault;
                qp.WaitingForFault = true;
                return first ? SendOutcome.Retry : SendOutcome.Wait;
            }

            qp.WaitingForFault = false;
            if (qp.RetriesLeft < 0)
            {
                qp.RetriesLeft = qp.RetryCount;
                qp.RnrRetriesLeft = qp.RnrRetry;
            }

            byteLength = (uint)length;
            uint rkey = BinaryPrimitives.ReadUInt32LittleEndian(wqe[24..]);
            ulong remoteVa = BinaryPrimitives.ReadUInt64LittleEndian(wqe[16..]);
            int packets = PacketCount(length, qp.Mtu);
            qp.ResponseSeen = false;
            qp.NakSyndrome = null;
            uint lastPsn = (qp.SqPsn + (uint)packets - 1) & NicQp.PsnMask;
            if (isRead)
            {
                return ExecuteRead(qp, segments, length, remoteVa, rkey, packets, out status);
            }

            var message = new TxMessage
            {
                Qp = qp,
                Kind = opcode is NicWrOpcode.Send or NicWrOpcode.SendWithImmediate ? TxKind.Send : TxKind.Write,
                Psn = qp.SqPsn,
                Packets = packets,
                Length = length,
                Mtu = qp.Mtu,
                WithImmediate = opcode is NicWrOpcode.SendWithImmediate or NicWrOpcode.RdmaWriteWithImmediate,
                Immediate = BinaryPrimitives.ReadUInt32LittleEndian(wqe[4..]),
                RemoteVa = remoteVa,
                RKey = rkey,
            };
            TxStatus sent = Emit(message, segments);
            if (sent == TxStatus.TranslationFault)
            {
                status = NicWcStatus.LocalProtectionError;
                return SendOutcome.Completed;
            }

            if (sent == TxStatus.DmaFault)
            {
                status = NicWcStatus.FatalError;
                return SendOutcome.Completed;
            }

            if (qp.NakSyndrome is null && qp.ResponseSeen && qp.AckedPsn == lastPsn)
            {
                qp.SqPsn = (lastPsn + 1) & NicQp.PsnMask;
                return SendOutcome.Completed;
            }

            return AfterNoAck(qp, out status);
        }
    }

    private SendOutcome ExecuteRead(NicQp qp, ReadOnlySpan<NicSegment> segments, ulong length, ulong remoteVa, uint rkey, int packets, out NicWcStatus status)
    {
        unchecked
        {
            segments.CopyTo(qp.ReadSegments);
            qp.ReadSegmentCount = segments.Length;
            qp.ReadLength = length;
            qp.ReadReceived = 0;
            qp.ReadNextPsn = qp.SqPsn;
            qp.ReadComplete = false;
            qp.ReadFailure = null;
            qp.ReadInFlight = true;
            RocePacket request = PacketFor(qp, IbOpcode.RcRdmaReadRequest, qp.SqPsn);
            request.VirtualAddress = remoteVa;
            request.RKey = rkey;
            request.DmaLength = (uint)length;
            request.AckRequest = true;
            Send(new RoceRun(request), default);
            qp.ReadInFlight = false;
            status = NicWcStatus.Success;
            if (qp.ReadFailure is NicWcStatus failure)
            {
                status = failure;
                return SendOutcome.Completed;
            }

            if (qp.ReadComplete && qp.NakSyndrome is null)
            {
                qp.SqPsn = (qp.SqPsn + (uint)packets) & NicQp.PsnMask;
                return SendOutcome.Completed;
            }

            return AfterNoAck(qp, out status);
        }
    }

    /// <summary>The request was not acknowledged: a NAK says why, or it timed out.</summary>
    private SendOutcome AfterNoAck(NicQp qp, out NicWcStatus status)
    {
        status = NicWcStatus.Success;
        if (qp.NakSyndrome is byte syndrome)
        {
            switch (syndrome & AethSyndrome.TypeMask)
            {
                case AethSyndrome.RnrNak:
                    if (qp.RnrRetry == 7 || qp.RnrRetriesLeft-- > 0)
                    {
                        System.Threading.Interlocked.Increment(ref _retransmissions);
                        return SendOutcome.Retry;
                    }

                    status = NicWcStatus.RnrRetryExceededError;
                    return SendOutcome.Completed;
                case AethSyndrome.Nak:
                    status = syndrome switch
                    {
                        AethSyndrome.NakRemoteAccessError => NicWcStatus.RemoteAccessError,
                        AethSyndrome.NakRemoteOperationalError => NicWcStatus.RemoteOperationError,
                        AethSyndrome.NakPsnSequenceError => NicWcStatus.Success,
                        _ => NicWcStatus.RemoteInvalidRequestError,
                    };
                    if (status != NicWcStatus.Success)
                    {
                        return SendOutcome.Completed;
                    }

                    break; // A sequence error: resend, counted as a retry.
            }
        }

        if (qp.RetriesLeft-- > 0)
        {
            System.Threading.Interlocked.Increment(ref _retransmissions);
            return SendOutcome.Retry;
        }

        status = NicWcStatus.RetryExceededError;
        return SendOutcome.Completed;
    }

    /// <summary>An ACK, a NAK or READ response data for the requester.</summary>
    private void ReceiveResponse(NicQp qp, in RoceRun run, ReadOnlySpan<byte> payload)
    {
        unchecked
        {
            RocePacket first = run.First;
            if (first.Opcode == IbOpcode.RcAcknowledge)
            {
                qp.ResponseSeen = true;
                if ((first.Syndrome & AethSyndrome.TypeMask) == AethSyndrome.Ack)
                {
                    qp.AckedPsn = first.Psn;
                }
                else
                {
                    qp.NakSyndrome ??= first.Syndrome;
                }

                return;
            }

            if (!qp.ReadInFlight || first.Psn != qp.ReadNextPsn || qp.ReadFailure is not null)
            {
                PacketsDropped += run.Count;
                return;
            }

            qp.ResponseSeen = true;
            PlaceStatus placed = Place(qp.ReadSegments.AsSpan(0, qp.ReadSegmentCount), qp.ReadReceived, payload);
            if (placed != PlaceStatus.Ok)
            {
                qp.ReadFailure = placed switch
                {
                    PlaceStatus.Overflow => NicWcStatus.LocalLengthError,
                    PlaceStatus.DmaFault => NicWcStatus.FatalError,
                    _ => NicWcStatus.LocalProtectionError,
                };
                return;
            }

            qp.ReadReceived += (ulong)payload.Length;
            qp.ReadNextPsn = (run.LastPsn + 1) & NicQp.PsnMask;
            if (run.EndsMessage)
            {
                qp.ReadComplete = qp.ReadReceived == qp.ReadLength;
                if (!qp.ReadComplete)
                {
                    qp.ReadFailure = NicWcStatus.LocalLengthError;
                }
            }
        }
    }
}
