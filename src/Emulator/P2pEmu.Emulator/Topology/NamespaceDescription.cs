namespace P2pEmu.Emulator.Topology;

/// <summary>An NVMe namespace: its size and, optionally, the file that backs it.</summary>
public sealed record NamespaceDescription(ulong SizeBytes, string? BackingPath, string JsonPath);
