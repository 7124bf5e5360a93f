namespace P2pEmu.Machine.Scenarios;

/// <summary>
/// One RDMA operation of the RDMA scenario: which link and direction, what it did (WRITE, READ, SEND), into or out of
/// what memory (host RAM, a peer's CMB, accelerator memory through a dma-buf), the map type the NIC's mapping got, the
/// completion status (Linux <c>ib_wc_status</c> name), and whether the bytes arrived intact — or, for an operation that
/// must fail (after a revoke), that it failed and left the memory untouched.
/// </summary>
public sealed record RdmaCheck(
    string Link,
    string Operation,
    string Memory,
    string MapType,
    string Status,
    long Bytes,
    bool IntegrityOk,
    bool Expected,
    string? Mismatch);
