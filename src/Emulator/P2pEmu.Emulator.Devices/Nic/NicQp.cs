using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Devices.Net;

namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>
/// A reliable-connected queue pair as the device sees it: its rings, its connection (set by MODIFY_QP), and the
/// requester and responder state of the transport.
/// </summary>
internal sealed class NicQp
{
    public const uint PsnMask = 0xFF_FFFF;

    public NicQp(uint qpn, uint pd, DmaAddress sqRing, uint sqEntries, DmaAddress rqRing, uint rqEntries, NicCq sendCq, NicCq recvCq)
    {
        Qpn = qpn;
        Pd = pd;
        SqRing = sqRing;
        SqEntries = sqEntries;
        RqRing = rqRing;
        RqEntries = rqEntries;
        SendCq = sendCq;
        RecvCq = recvCq;
    }

    public uint Qpn { get; }

    public uint Pd { get; }

    public DmaAddress SqRing { get; }

    public uint SqEntries { get; }

    public DmaAddress RqRing { get; }

    public uint RqEntries { get; }

    public NicCq SendCq { get; }

    public NicCq RecvCq { get; }

    public NicQpState State { get; set; }

    public NicAccess Access { get; set; }

    public uint DestinationQp { get; set; }

    public MacAddress DestinationMac { get; set; }

    public uint DestinationIp { get; set; }

    public int Mtu { get; set; } = 1024;

    public int RetryCount { get; set; } = 7;

    public int RnrRetry { get; set; } = 7;

    // Send queue: the host's producer counter, the device's consumer counter.
    public uint SqProducer { get; set; }

    public uint SqConsumer { get; set; }

    public uint RqProducer { get; set; }

    public uint RqConsumer { get; set; }

    // Requester.

    /// <summary>The PSN of the next request packet.</summary>
    public uint SqPsn { get; set; }

    /// <summary>Retries left for the WQE at the head of the send queue; -1 until its first attempt.</summary>
    public int RetriesLeft { get; set; } = -1;

    public int RnrRetriesLeft { get; set; } = -1;

    /// <summary>The head WQE waits for the driver to resolve a page fault (of this QP's own memory or the peer's).</summary>
    public bool WaitingForFault { get; set; }

    /// <summary>A response (ACK, NAK or READ response data) arrived for the current attempt.</summary>
    public bool ResponseSeen { get; set; }

    /// <summary>The PSN the last ACK acknowledged (valid when <see cref="ResponseSeen"/> and no NAK).</summary>
    public uint AckedPsn { get; set; }

    /// <summary>The AETH syndrome of a NAK for the current attempt; null when none came.</summary>
    public byte? NakSyndrome { get; set; }

    // An RDMA READ in flight: where the response data goes.
    public NicSegment[] ReadSegments { get; } = new NicSegment[2];

    public int ReadSegmentCount { get; set; }

    public ulong ReadLength { get; set; }

    public ulong ReadReceived { get; set; }

    public uint ReadNextPsn { get; set; }

    public bool ReadInFlight { get; set; }

    public bool ReadComplete { get; set; }

    /// <summary>Why the READ response could not be placed; null while it could.</summary>
    public NicWcStatus? ReadFailure { get; set; }

    // Responder.

    /// <summary>The PSN the responder expects next.</summary>
    public uint ExpectedPsn { get; set; }

    /// <summary>Message sequence number: messages the responder completed (24 bits in the AETH).</summary>
    public uint Msn { get; set; }

    public NicResponderKind Responding { get; set; }

    /// <summary>A NAK (RNR or sequence error) went out and the requester has not resent yet: later packets are dropped quietly.</summary>
    public bool NakOutstanding { get; set; }

    public NicSegment WriteTarget { get; set; }

    /// <summary>Bytes of the current WRITE (its RETH length) or SEND placed so far.</summary>
    public ulong RespondOffset { get; set; }

    /// <summary>The receive WQE the current SEND (or WRITE with immediate) consumes.</summary>
    public NicSegment[] RecvSegments { get; } = new NicSegment[3];

    public int RecvSegmentCount { get; set; }

    public ulong RecvWrId { get; set; }

    public bool HasRecvWqe { get; set; }
}
