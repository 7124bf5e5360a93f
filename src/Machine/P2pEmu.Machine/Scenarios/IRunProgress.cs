namespace P2pEmu.Machine.Scenarios;

/// <summary>What a run tells its watcher: stages beginning, steps of them done, stages ending. Called on the run's thread.</summary>
public interface IRunProgress
{
    /// <summary><paramref name="stage"/> begins; it has <paramref name="steps"/> steps, or an unknown number when null.</summary>
    void StageBegun(string stage, int? steps);

    /// <summary>A step of <paramref name="stage"/> is done; <paramref name="detail"/> says which.</summary>
    void StepDone(string stage, string detail);

    void StageEnded(string stage);
}
