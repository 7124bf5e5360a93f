using Xunit;

namespace P2pEmu.Integration.Tests;

/// <summary>
/// Tests that observe or change process-wide state run alone: in-process EventSource listeners (which make every
/// event allocate on the thread that writes it, and would record other tests' events) and the allocation checks.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideStateCollection
{
    public const string Name = "ProcessWideState";
}
