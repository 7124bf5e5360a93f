namespace P2pEmu.Machine.Scenarios.Workload;

/// <summary>A fault as injected: what, on which device, at which point of which transfer, and what the call returned.</summary>
public sealed record FaultReport(string Action, string Device, string Transfer, int AfterChunk, string Result);
