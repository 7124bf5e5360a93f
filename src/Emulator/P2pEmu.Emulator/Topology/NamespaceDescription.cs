namespace P2pEmu.Emulator.Topology;

/// <summary>
/// An NVMe namespace: its size and what backs it — the file at <paramref name="BackingPath"/>, RAM when
/// <see cref="InRam"/>, and otherwise a sparse temporary file (created for the machine, unlinked at once, gone with it).
/// </summary>
public sealed record NamespaceDescription(ulong SizeBytes, string? BackingPath, string JsonPath)
{
    /// <summary>Backed by anonymous memory instead of a file (the topology's <c>"ram": true</c>).</summary>
    public bool InRam { get; init; }
}
