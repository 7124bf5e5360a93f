using Xunit;

namespace P2pEmu.Emulator.Tests.Memory;

/// <summary>Tests that measure the process's resident memory run alone, so other tests cannot move the numbers.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ResidentMemoryCollection
{
    public const string Name = "ResidentMemory";
}
