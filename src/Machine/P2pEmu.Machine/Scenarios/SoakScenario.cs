using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using P2pEmu.Emulator.Fabric;

namespace P2pEmu.Machine.Scenarios;

/// <summary>
/// The paths of <see cref="PathScenario"/> round after round, each round with data of a new seed and one timed pass per
/// path, every delivery checked, until the duration is over or the caller cancels. The machine stays up throughout, so
/// a tracer has a process to attach to and every lifecycle step (connect, register, revoke, deregister) repeats.
/// </summary>
public static class SoakScenario
{
    /// <summary>The bytes each path moves per round.</summary>
    public const int DefaultBytes = PathScenario.DefaultBytes;

    /// <summary>Distinct errors kept per path; a failing soak repeats its errors.</summary>
    public const int MaxErrorsPerPath = 8;

    /// <param name="duration">How long to run; null: until <paramref name="cancellationToken"/> is cancelled.</param>
    /// <param name="progress">Told the soak's totals after every round.</param>
    public static SoakReport Run(Machine machine, TimeSpan? duration, CancellationToken cancellationToken, IProgress<SoakReport>? progress = null, int bytes = DefaultBytes)
    {
        ArgumentNullException.ThrowIfNull(machine);
        if (duration is { } d && d <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(duration), "A soak lasts longer than zero.");
        }

        var totals = new List<PathTotal>();
        RoutePath[] routes = [.. Enum.GetValues<RoutePath>().Where(r => r != RoutePath.None)];
        long[] fabricStart = [.. routes.Select(machine.Fabric.BytesOnPath)];
        long start = Stopwatch.GetTimestamp();
        int rounds = 0;
        SoakReport report = new(0, 0, []);
        while (!cancellationToken.IsCancellationRequested && (duration is null || Stopwatch.GetElapsedTime(start) < duration))
        {
            IReadOnlyList<PathReport> paths = PathScenario.Run(machine, bytes, seed: 1000 + rounds, timedPasses: 1);
            for (int i = 0; i < paths.Count; i++)
            {
                if (i == totals.Count)
                {
                    totals.Add(new PathTotal(paths[i]));
                }

                totals[i].Add(paths[i]);
            }

            rounds++;
            report = new SoakReport(rounds, Stopwatch.GetElapsedTime(start).TotalSeconds, totals.Select(t => t.Report()).ToList())
            {
                FabricBytesByPath = routes.Select((r, i) => (Route: r.ToString(), Bytes: machine.Fabric.BytesOnPath(r) - fabricStart[i]))
                    .Where(r => r.Bytes > 0)
                    .ToDictionary(r => r.Route, r => r.Bytes, StringComparer.Ordinal),
            };
            progress?.Report(report);
        }

        return report;
    }

    /// <summary>One path's sums over the rounds.</summary>
    private sealed class PathTotal
    {
        private readonly PathReport _first;
        private readonly List<string> _errors = new();
        private long _bytes;
        private double _seconds;
        private double _copiesWeighted;
        private bool _ok = true;

        public PathTotal(PathReport first) => _first = first;

        public void Add(PathReport round)
        {
            _bytes += round.Bytes;
            _seconds += round.Seconds;
            _copiesWeighted += round.CopiesPerByte * round.Bytes;
            _ok &= round.ChecksumOk;
            foreach (string error in round.Errors)
            {
                if (_errors.Count < MaxErrorsPerPath && !_errors.Contains(error))
                {
                    _errors.Add(error);
                }
            }
        }

        public PathReport Report() => _first with
        {
            Bytes = _bytes,
            Seconds = _seconds,
            Gbps = _seconds > 0 ? _bytes / _seconds / 1e9 : 0,
            CopiesPerByte = _bytes > 0 ? _copiesWeighted / _bytes : 0,
            ChecksumOk = _ok,
            Errors = _errors.ToArray(),
        };
    }
}
