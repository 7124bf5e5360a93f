using System.Collections.Generic;
using System.Linq;

namespace P2pEmu.Machine.Scenarios;

/// <summary>
/// A soak so far: rounds run, seconds elapsed, and per path the sums over its rounds — bytes delivered, seconds spent
/// delivering them and the rate, the mean fabric copies per byte, whether every round was right, and the distinct
/// errors met (at most <see cref="SoakScenario.MaxErrorsPerPath"/>); and the bytes the fabric carried per route during
/// the soak, by the emulator's own counters (what <c>p2pemu trace</c> sums from the <c>P2pEmu.Fabric</c> events).
/// </summary>
public sealed record SoakReport(int Rounds, double Seconds, IReadOnlyList<PathReport> Paths)
{
    /// <summary>Bytes the fabric delivered per <c>RoutePath</c> name during the soak (routes that carried none are left out).</summary>
    public IReadOnlyDictionary<string, long> FabricBytesByPath { get; init; } = new Dictionary<string, long>();

    public long Bytes => Paths.Sum(p => p.Bytes);

    public bool IntegrityOk => Paths.All(p => p.ChecksumOk);
}
