namespace P2pEmu.Emulator.Fabric;

/// <summary>
/// The outcome of a DMA: how many bytes completed (in order, from the start) and, on failure, the route
/// of the transaction that failed. Bytes before the failure landed; nothing after it was touched.
/// </summary>
public readonly struct DmaResult
{
    public DmaResult(ulong bytesTransferred, RouteResult failure)
    {
        BytesTransferred = bytesTransferred;
        Failure = failure;
        Status = failure.Status;
    }

    private DmaResult(ulong bytesTransferred)
    {
        BytesTransferred = bytesTransferred;
        Status = RouteStatus.Delivered;
    }

    public RouteStatus Status { get; }

    public ulong BytesTransferred { get; }

    /// <summary>The failing transaction's route; default when the DMA completed.</summary>
    public RouteResult Failure { get; }

    /// <summary>
    /// Which side of the DMA failed: <see cref="AccessKind.Read"/> for the source of a copy (or a read),
    /// <see cref="AccessKind.Write"/> for its destination (or a write). Meaningless when the DMA completed.
    /// </summary>
    public AccessKind FailedAccess { get; init; }

    public bool IsSuccess => Status == RouteStatus.Delivered;

    public static DmaResult Completed(ulong bytes) => new(bytes);

    public override string ToString() => IsSuccess ? $"completed {BytesTransferred} bytes" : $"failed after {BytesTransferred} bytes: {Failure}";
}
