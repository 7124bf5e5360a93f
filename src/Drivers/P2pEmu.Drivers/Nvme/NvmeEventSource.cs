using System.Diagnostics.Tracing;

namespace P2pEmu.Drivers.Nvme;

/// <summary>
/// EventSource <c>P2pEmu.Nvme</c>, after Linux's <c>nvme_setup_cmd</c> and <c>nvme_complete_rq</c> tracepoints: every
/// I/O command the driver sends and every completion it handles, with the latency from the submission to the
/// completion. Payloads are (long, long, long), the shape that binds to a typed <c>WriteEvent</c> overload and
/// allocates nothing; call sites check <see cref="EventSource.IsEnabled()"/> first, and take the submission time only
/// then. Event ids and keywords are never reused.
/// </summary>
[EventSource(Name = "P2pEmu.Nvme")]
public sealed class NvmeEventSource : EventSource
{
    public static readonly NvmeEventSource Log = new();

    private NvmeEventSource()
    {
    }

    /// <summary>Event keywords; values are never reused.</summary>
    public static class Keywords
    {
        /// <summary>I/O commands sent.</summary>
        public const EventKeywords Commands = (EventKeywords)0x1;

        /// <summary>I/O completions handled.</summary>
        public const EventKeywords Completions = (EventKeywords)0x2;
    }

    /// <summary>
    /// <c>nvme_setup_cmd</c>: <paramref name="queue"/> is the controller instance (bits 31:16) and the queue id (bits
    /// 15:0); <paramref name="command"/> the command id (bits 31:16), the opcode (bits 15:8) and 1 for P2P data (bit 0);
    /// <paramref name="bytes"/> the data length.
    /// </summary>
    [Event(1, Level = EventLevel.Verbose, Keywords = Keywords.Commands)]
    public void SetupCmd(long queue, long command, long bytes) => WriteEvent(1, queue, command, bytes);

    /// <summary>
    /// <c>nvme_complete_rq</c>: <paramref name="queue"/> as in <see cref="SetupCmd"/>; <paramref name="status"/> the
    /// command id (bits 47:32), the opcode (bits 23:16) and the completion's status field (bits 15:0, 0: success);
    /// <paramref name="latencyNanoseconds"/> from the submission to the completion's handling.
    /// </summary>
    [Event(2, Level = EventLevel.Informational, Keywords = Keywords.Completions)]
    public void CompleteRq(long queue, long status, long latencyNanoseconds) => WriteEvent(2, queue, status, latencyNanoseconds);

    internal static long Queue(NvmeDev dev, NvmeQueue queue) => ((long)dev.Instance << 16) | queue.Qid;
}
