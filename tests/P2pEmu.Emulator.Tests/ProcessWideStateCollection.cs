using Xunit;

namespace P2pEmu.Emulator.Tests;

/// <summary>
/// Tests that observe process-wide state (resident memory, EventSource events) run alone, so other tests
/// cannot move the numbers or add events.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideStateCollection
{
    public const string Name = "ProcessWideState";
}
