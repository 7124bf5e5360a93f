namespace P2pEmu.Emulator.Topology;

/// <summary>One memory BAR of an endpoint.</summary>
/// <param name="BackingPath">A file (or /dev/shm path) to back the BAR with; null for anonymous memory.</param>
public sealed record BarDescription(int Index, ulong SizeBytes, bool Prefetchable, bool Is64Bit, string? BackingPath = null);
