using P2pEmu.Emulator.Topology;

namespace P2pEmu.Machine.Scenarios.Workload;

/// <summary>
/// A fault the runner injects once chunk <see cref="AfterChunk"/> of <see cref="Transfer"/> completed (-1: before its
/// first chunk): <see cref="Action"/> on <see cref="Device"/>, with <see cref="Bits"/> for an ACS flip.
/// </summary>
public sealed record FaultInjection(FaultAction Action, string Device, string Transfer, int AfterChunk, AcsFlags Bits, string JsonPath);
