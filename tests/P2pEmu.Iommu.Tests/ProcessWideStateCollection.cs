using Xunit;

namespace P2pEmu.Iommu.Tests;

/// <summary>Tests that observe process-wide state (EventSource events, resident memory) run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideStateCollection
{
    public const string Name = "ProcessWideState";
}
