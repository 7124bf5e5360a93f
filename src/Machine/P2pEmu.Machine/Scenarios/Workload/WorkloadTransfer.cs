namespace P2pEmu.Machine.Scenarios.Workload;

/// <summary>
/// One transfer of a scenario: <see cref="Size"/> bytes from <see cref="From"/> to <see cref="To"/> along
/// <see cref="Kind"/>, in chunks of <see cref="Chunk"/> bytes with up to <see cref="QueueDepth"/> in flight, starting
/// <see cref="Offset"/> bytes into the target's buffer (and the source's); <see cref="JsonPath"/> says where it was
/// written.
/// </summary>
public sealed record WorkloadTransfer(
    string Name,
    TransferKind Kind,
    string From,
    string To,
    ulong Size,
    ulong Chunk,
    int QueueDepth,
    ulong Offset,
    string JsonPath)
{
    /// <summary>Chunks, the last one possibly shorter.</summary>
    public int Chunks => (int)((Size + Chunk - 1) / Chunk);

    /// <summary>The bytes of chunk <paramref name="index"/>.</summary>
    public ulong ChunkBytes(int index) => System.Math.Min(Chunk, Size - ((ulong)index * Chunk));
}
