using System.Collections.Generic;
using System.Linq;

namespace P2pEmu.Machine.Scenarios;

/// <summary>
/// A soak so far: rounds run, seconds elapsed, and per path the sums over its rounds — bytes delivered, seconds spent
/// delivering them and the rate, the mean fabric copies per byte, whether every round was right, and the distinct
/// errors met (at most <see cref="SoakScenario.MaxErrorsPerPath"/>).
/// </summary>
public sealed record SoakReport(int Rounds, double Seconds, IReadOnlyList<PathReport> Paths)
{
    public long Bytes => Paths.Sum(p => p.Bytes);

    public bool IntegrityOk => Paths.All(p => p.ChecksumOk);
}
