namespace P2pEmu.Machine.Scenarios;

/// <summary>
/// One O_DIRECT transfer of the storage scenario: a disk, the buffer (host pages, or p2pmem of a provider), the
/// kernel's map type for that buffer and the disk's controller, and whether the bytes read are the bytes written.
/// </summary>
/// <param name="Operation">"write" or "read".</param>
/// <param name="MapType">NONE for host pages, else the P2PDMA map type from the buffer's provider to the disk's controller.</param>
/// <param name="Result">"ok", or the errno the call returned.</param>
/// <param name="Expected">True when the outcome is what the kernel rules say (an error exactly where they require one).</param>
public sealed record StorageCheck(
    string Disk,
    string Operation,
    string Buffer,
    string MapType,
    string Result,
    long BytesTransferred,
    bool IntegrityOk,
    bool Expected,
    string? Mismatch);
