using System;

namespace P2pEmu.Machine.Scenarios;

/// <summary>
/// What <c>p2pemu run</c> runs on a topology: the transfer scenario on a machine without drivers (every device DMAs on
/// its own and every memory BAR is written), then on a machine whose drivers own their devices the storage scenario,
/// the RDMA scenario and the end-to-end paths.
/// </summary>
public static class DefaultScenario
{
    public const string Transfers = "transfer scenario";
    public const string Storage = "storage scenario";
    public const string Rdma = "rdma scenario";
    public const string Paths = "paths";

    /// <param name="topology">A built-in topology name, a topology file or an lspci dump.</param>
    /// <param name="pcapPath">Where the RDMA scenario captures the NIC links; null: no capture.</param>
    /// <exception cref="Emulator.Topology.TopologyException">The topology is bad.</exception>
    public static TransferReport Run(string topology, string? pcapPath = null, IRunProgress? progress = null)
    {
        ArgumentNullException.ThrowIfNull(topology);
        TransferReport report;
        using (Machine machine = Machine.Load(topology, bindDrivers: false))
        {
            report = Stage(progress, Transfers, () => TransferScenario.Run(machine, topology), r => $"{r.Transfers.Count} transfers");
        }

        using (Machine machine = Machine.Load(topology))
        {
            report = report with { Storage = Stage(progress, Storage, () => StorageScenario.Run(machine), s => $"{s.Count} O_DIRECT calls") };
            report = report with { Rdma = Stage(progress, Rdma, () => RdmaScenario.Run(machine, pcapPath), r => $"{r.Count} operations") };
            progress?.StageBegun(Paths, PathScenario.MaxPaths);
            report = report with { Paths = PathScenario.Run(machine, progress: progress is null ? null : new PathSteps(progress)) };
            progress?.StageEnded(Paths);
        }

        return report;
    }

    private static T Stage<T>(IRunProgress? progress, string stage, Func<T> run, Func<T, string> describe)
    {
        progress?.StageBegun(stage, 1);
        T result = run();
        progress?.StepDone(stage, describe(result));
        progress?.StageEnded(stage);
        return result;
    }

    private sealed class PathSteps(IRunProgress progress) : IProgress<PathReport>
    {
        public void Report(PathReport value) => progress.StepDone(Paths, value.Name);
    }
}
