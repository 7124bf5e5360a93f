using System.Collections.Generic;
using System.Linq;

namespace P2pEmu.Machine.Scenarios.Workload;

/// <summary>
/// A scenario's result: one path per transfer, in order (<see cref="PathReport"/>: a transfer with faults is right when
/// its delivered chunks are intact, the chunks a fault must stop failed, and no other byte of the target changed), and
/// the faults as injected.
/// </summary>
public sealed record ScenarioReport(string Name, IReadOnlyList<PathReport> Paths, IReadOnlyList<FaultReport> Faults)
{
    public bool IntegrityOk => Paths.All(p => p.ChecksumOk);
}
