namespace P2pEmu.Emulator.Fabric;

/// <summary>
/// The outcome of a DMA: how many bytes completed (in order, from the start) and, on failure, the route
/// of the transaction that failed. Bytes before the failure landed; nothing after it was touched.
/// </summary>
/// <remarks>
/// Two words: a completed DMA (every DMA on a hot path) returns in registers, and only a failure allocates the record
/// of its route.
/// </remarks>
public readonly struct DmaResult
{
    private readonly Failed? _failure;

    /// <param name="bytesTransferred">Bytes that completed before the failure.</param>
    /// <param name="failure">The route of the transaction that failed.</param>
    /// <param name="failedAccess">The side that failed (see <see cref="FailedAccess"/>).</param>
    public DmaResult(ulong bytesTransferred, RouteResult failure, AccessKind failedAccess = AccessKind.Read)
        : this(bytesTransferred, new Failed(failure, failedAccess))
    {
    }

    private DmaResult(ulong bytesTransferred, Failed? failure)
    {
        BytesTransferred = bytesTransferred;
        _failure = failure;
    }

    public RouteStatus Status => _failure is null ? RouteStatus.Delivered : _failure.Route.Status;

    public ulong BytesTransferred { get; }

    /// <summary>The failing transaction's route; default when the DMA completed.</summary>
    public RouteResult Failure => _failure is null ? default : _failure.Route;

    /// <summary>
    /// Which side of the DMA failed: <see cref="AccessKind.Read"/> for the source of a copy (or a read),
    /// <see cref="AccessKind.Write"/> for its destination (or a write). Meaningless when the DMA completed.
    /// </summary>
    public AccessKind FailedAccess => _failure is null ? AccessKind.Read : _failure.Access;

    public bool IsSuccess => Status == RouteStatus.Delivered;

    public static DmaResult Completed(ulong bytes) => new(bytes, (Failed?)null);

    /// <summary>
    /// This outcome with <paramref name="bytesTransferred"/> bytes done in all: what a DMA made of pieces returns when
    /// one piece ended it (the same failure, counted from the start of the whole DMA).
    /// </summary>
    public DmaResult After(ulong bytesTransferred) => new(bytesTransferred, _failure);

    public override string ToString() => IsSuccess ? $"completed {BytesTransferred} bytes" : $"failed after {BytesTransferred} bytes: {Failure}";

    private sealed record Failed(RouteResult Route, AccessKind Access);
}
