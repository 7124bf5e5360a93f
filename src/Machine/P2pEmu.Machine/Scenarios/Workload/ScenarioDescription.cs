using System.Collections.Generic;
using P2pEmu.Emulator.Execution;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Machine.Scenarios.Workload;

/// <summary>
/// A validated scenario file: the machine (<see cref="Topology"/>, with the file's IOMMU mode already applied to every
/// host bridge), how its devices run, the seed of its data, its transfers in order and the faults to inject.
/// </summary>
public sealed record ScenarioDescription(
    string Name,
    TopologyDescription Topology,
    ExecutionMode ExecutionMode,
    int Seed,
    IReadOnlyList<WorkloadTransfer> Transfers,
    IReadOnlyList<FaultInjection> Faults);
