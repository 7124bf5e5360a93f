using System.Collections.Generic;
using P2pEmu.Machine.Scenarios;

namespace P2pEmu.Cli;

/// <summary>A run's stages as rows of the progress table: a row per stage, advanced a step at a time.</summary>
internal sealed class StageProgress(RunStages stages) : IRunProgress
{
    private readonly Dictionary<string, RunStages.Stage> _rows = new();

    public void StageBegun(string stage, int? steps) => _rows[stage] = stages.Add(stage, steps);

    public void StepDone(string stage, string detail)
    {
        RunStages.Stage row = _rows[stage];
        row.Advance();
        row.Describe($"{stage}: {detail}");
    }

    public void StageEnded(string stage) => _rows[stage].Done();
}
