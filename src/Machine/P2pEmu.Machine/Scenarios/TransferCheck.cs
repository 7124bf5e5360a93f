namespace P2pEmu.Machine.Scenarios;

/// <summary>
/// One transfer of the transfer scenario: who wrote where, how the fabric routed it, and whether the bytes
/// that arrived are the bytes that were sent (or, for a refused transaction, whether the target stayed untouched).
/// </summary>
public sealed record TransferCheck(
    string Requester,
    string Target,
    ulong Address,
    string Status,
    string Path,
    string Reason,
    string? DecidedAt,
    string? RedirectedAt,
    ulong BytesTransferred,
    bool IntegrityOk,
    string? Mismatch);
