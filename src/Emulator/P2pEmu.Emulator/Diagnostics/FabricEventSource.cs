using System.Diagnostics.Tracing;

namespace P2pEmu.Emulator.Diagnostics;

/// <summary>
/// EventSource <c>P2pEmu.Fabric</c>: DMA transfers by path, and failed transactions with the rule that
/// failed them. Payloads are (long, long, long) so no call allocates, with or without a session
/// (PERF-NOTES: mismatched shapes box on every call); hot call sites check <see cref="EventSource.IsEnabled()"/> first.
/// </summary>
[EventSource(Name = "P2pEmu.Fabric")]
public sealed class FabricEventSource : EventSource
{
    public static readonly FabricEventSource Log = new();

    private FabricEventSource()
    {
    }

    /// <summary>Event keywords; values are never reused.</summary>
    public static class Keywords
    {
        public const EventKeywords Transfers = (EventKeywords)0x1;
        public const EventKeywords Faults = (EventKeywords)0x2;
    }

    /// <summary>A delivered piece of a DMA: requester ID (segment &lt;&lt; 16 | BDF), the <c>RoutePath</c>, bytes moved.</summary>
    [Event(1, Level = EventLevel.Verbose, Keywords = Keywords.Transfers)]
    public void Transfer(long requesterId, long path, long bytes) => WriteEvent(1, requesterId, path, bytes);

    /// <summary>
    /// A transaction the fabric did not deliver: requester ID (segment &lt;&lt; 16 | BDF), the wire address, and
    /// the <c>RouteStatus</c> (bits 15:8) with the <c>RouteReason</c> (bits 7:0).
    /// </summary>
    [Event(2, Level = EventLevel.Warning, Keywords = Keywords.Faults)]
    public void TransactionFailed(long requesterId, long address, long statusAndReason) => WriteEvent(2, requesterId, address, statusAndReason);
}
