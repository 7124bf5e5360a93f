using System.Diagnostics.Tracing;

namespace P2pEmu.Drivers.Rdma;

/// <summary>
/// EventSource <c>P2pEmu.Nic</c>: the RDMA driver's work requests and completions — every send-queue WQE posted, every
/// send completion polled with its latency from the post, and every receive completion. Payloads are (long, long,
/// long), which bind to a typed <c>WriteEvent</c> overload and allocate nothing; call sites check
/// <see cref="EventSource.IsEnabled()"/> first and take the post time only then. Event ids and keywords are never reused.
/// </summary>
[EventSource(Name = "P2pEmu.Nic")]
public sealed class NicEventSource : EventSource
{
    public static readonly NicEventSource Log = new();

    private NicEventSource()
    {
    }

    /// <summary>Event keywords; values are never reused.</summary>
    public static class Keywords
    {
        /// <summary>Work requests posted.</summary>
        public const EventKeywords WorkRequests = (EventKeywords)0x1;

        /// <summary>Completions polled.</summary>
        public const EventKeywords Completions = (EventKeywords)0x2;
    }

    /// <summary>
    /// <c>ib_post_send</c>: the device instance (bits 47:24) and QP number (bits 23:0) in <paramref name="qp"/>; the
    /// <c>ib_wr_opcode</c> (bits 39:32) and the WQE index (bits 31:0) in <paramref name="wqe"/>; the bytes of its SGEs.
    /// </summary>
    [Event(1, Level = EventLevel.Verbose, Keywords = Keywords.WorkRequests)]
    public void PostSend(long qp, long wqe, long bytes) => WriteEvent(1, qp, wqe, bytes);

    /// <summary>
    /// A send completion polled (<c>ib_poll_cq</c>): <paramref name="qp"/> as in <see cref="PostSend"/>; the
    /// <c>ib_wc_opcode</c> (bits 15:8) and <c>ib_wc_status</c> (bits 7:0) in <paramref name="status"/>; the time from the
    /// post of its WQE to the poll.
    /// </summary>
    [Event(2, Level = EventLevel.Informational, Keywords = Keywords.Completions)]
    public void SendCompletion(long qp, long status, long latencyNanoseconds) => WriteEvent(2, qp, status, latencyNanoseconds);

    /// <summary>A receive completion polled: <paramref name="qp"/> and <paramref name="status"/> as in <see cref="SendCompletion"/>, the bytes received.</summary>
    [Event(3, Level = EventLevel.Informational, Keywords = Keywords.Completions)]
    public void RecvCompletion(long qp, long status, long bytes) => WriteEvent(3, qp, status, bytes);
}
