namespace P2pEmu.Machine.Scenarios;

/// <summary>
/// One transfer of the transfer scenario: who wrote where, the kernel's map type and the DMA address it gave
/// the device, how the fabric routed it, and whether the bytes that arrived are the bytes that were sent (or,
/// for a refused transfer, whether the target stayed untouched).
/// </summary>
/// <param name="MapType">NONE for host RAM (an ordinary page), else the P2PDMA map type for the pair.</param>
/// <param name="Address">The DMA address the device used (a bus address, or an IOVA); 0 when the kernel refused.</param>
public sealed record TransferCheck(
    string Requester,
    string Target,
    string MapType,
    ulong Address,
    string Status,
    string Path,
    string Reason,
    string? DecidedAt,
    string? RedirectedAt,
    ulong BytesTransferred,
    bool IntegrityOk,
    string? Mismatch);
