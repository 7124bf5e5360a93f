using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace P2pEmu.Machine.Scenarios.Workload;

/// <summary>
/// Runs a scenario: builds its machine (drivers bound), validates the workload against it, then runs the transfers in
/// order — each set up, moved chunk by chunk with its faults injected after the chunks they name, checked and torn
/// down — and reports one path per transfer. A fault's effect outlasts its transfer: later transfers meet the machine
/// as the fault left it.
/// </summary>
public static class ScenarioRunner
{
    /// <summary>Chunks moved between two progress reports (at least the transfer's queue depth).</summary>
    private const int ProgressWindow = 16;

    private static readonly TimeSpan s_removalDrainTimeout = TimeSpan.FromSeconds(30);

    /// <exception cref="Emulator.Topology.TopologyException">The workload names something the machine does not have (see <see cref="ScenarioValidator"/>).</exception>
    public static ScenarioReport Run(ScenarioDescription scenario, IRunProgress? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        using Machine machine = Machine.Build(scenario.Topology, new MachineOptions { ExecutionMode = scenario.ExecutionMode });
        ScenarioValidator.Validate(machine, scenario);
        var paths = new List<PathReport>();
        var faults = new List<FaultReport>();
        var pending = new List<Task>();
        foreach (WorkloadTransfer spec in scenario.Transfers)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string stage = $"{spec.Name}: {spec.From} -> {spec.To}";
            progress?.StageBegun(stage, spec.Chunks);
            ChunkedTransfer transfer = Create(machine, spec, scenario.Seed);
            try
            {
                transfer.Setup();
                int next = 0;
                foreach (FaultInjection fault in scenario.Faults.Where(f => f.Transfer == spec.Name).OrderBy(f => f.AfterChunk))
                {
                    next = Move(transfer, next, fault.AfterChunk + 1, progress, stage);
                    faults.Add(FaultInjector.Apply(machine, fault, transfer, pending));
                }

                Move(transfer, next, spec.Chunks, progress, stage);
                paths.Add(transfer.Report());
            }
            finally
            {
                transfer.Dispose();
            }

            WaitFor(pending, spec, paths);
            progress?.StageEnded(stage);
        }

        return new ScenarioReport(scenario.Name, paths, faults);
    }

    /// <summary>Removals that waited for the transfer's memory finish once it is freed; one that does not is an error of the transfer.</summary>
    private static void WaitFor(List<Task> pending, WorkloadTransfer spec, List<PathReport> paths)
    {
        foreach (Task removal in pending)
        {
            if (!removal.Wait(s_removalDrainTimeout))
            {
                PathReport last = paths[^1];
                paths[^1] = last with { ChecksumOk = false, Errors = [.. last.Errors, $"a provider removal did not finish after {spec.Name} freed its memory"] };
            }
        }

        pending.Clear();
    }

    private static int Move(ChunkedTransfer transfer, int first, int end, IRunProgress? progress, string stage)
    {
        int window = Math.Max(ProgressWindow, transfer.Spec.QueueDepth);
        for (int at = first; at < end; at += window)
        {
            int until = Math.Min(end, at + window);
            transfer.Run(at, until);
            for (int i = at; i < until; i++)
            {
                progress?.StepDone(stage, $"chunk {i}");
            }
        }

        return Math.Max(first, end);
    }

    private static ChunkedTransfer Create(Machine machine, WorkloadTransfer spec, int seed) => spec.Kind switch
    {
        TransferKind.Dma => new DmaTransfer(machine, spec, seed),
        TransferKind.Storage => new StorageTransfer(machine, spec, seed),
        TransferKind.Pgmap => new PgmapTransfer(machine, spec, seed),
        TransferKind.Rdma => new RdmaTransfer(machine, spec, seed),
        _ => new DmabufTransfer(machine, spec, seed),
    };
}
