using BenchmarkDotNet.Attributes;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Benchmarks;

/// <summary>
/// Building (and disposing) a 64 GiB machine: 16 GiB of host RAM and three 16 GiB prefetchable BARs.
/// Regions are reserved, not committed, so this must take well under a second. Resident memory is checked
/// by <c>--startup-check</c> (see <see cref="StartupCheck"/>), since BenchmarkDotNet does not measure RSS.
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet derives from benchmark classes and rejects sealed ones.</remarks>
[MemoryDiagnoser]
public class StartupBenchmarks
{
    private TopologyDescription _large = null!;
    private TopologyDescription _hb0 = null!;

    [GlobalSetup]
    public void Setup()
    {
        _large = BenchTopologies.Large();
        _hb0 = BenchTopologies.Hb0();
    }

    /// <summary>The small hb0 machine (256 MiB RAM, four 64 MiB BARs), for scale.</summary>
    [Benchmark(Baseline = true)]
    public int BuildAndDisposeHb0()
    {
        using PcieFabric fabric = FabricBuilder.Build(_hb0);
        return fabric.Functions.Count;
    }

    /// <summary>The 64 GiB machine.</summary>
    [Benchmark]
    public int BuildAndDispose64GiB()
    {
        using PcieFabric fabric = FabricBuilder.Build(_large);
        return fabric.Functions.Count;
    }
}
