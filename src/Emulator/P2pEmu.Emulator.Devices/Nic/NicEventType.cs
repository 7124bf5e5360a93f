namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>Event queue entry types.</summary>
public enum NicEventType : byte
{
    /// <summary>An access reached an MTT entry that is not present: key, faulting address and length, QP.</summary>
    PageFault = 1,

    /// <summary>A QP went to the Error state because of a local DMA failure (Linux <c>IB_EVENT_QP_FATAL</c>).</summary>
    QpFatal = 2,

    /// <summary>A completion queue overflowed or its ring write failed (Linux <c>IB_EVENT_CQ_ERR</c>).</summary>
    CqError = 3,
}
