using System;
using System.Collections.Generic;
using System.Linq;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Machine.Reports;

namespace P2pEmu.Benchmarks;

/// <summary>
/// The P2PDMA core on the 1024-endpoint machine: the full provider × client matrix as <c>p2pemu p2p</c>
/// computes it, and a cached <c>pci_p2pdma_map_type</c> lookup. Baselines: a pass over the same 1024 × 1024
/// pairs that does trivial work per pair, and a lookup in a dictionary of the same shape as the cache.
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet generates a subclass.</remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class P2pDmaBenchmarks
{
    private Machine.Machine _machine = null!;
    private List<PciFunction> _endpoints = null!;
    private P2pProvider _provider = null!;
    private Device _client = null!;
    private Dictionary<int, PciP2pdmaMapType> _dictionary = null!;
    private int _key;

    [GlobalSetup]
    public void Setup()
    {
        _machine = Machine.Machine.Build(BenchTopologies.Matrix1024());
        _endpoints = P2pMatrix.EndpointFunctions(_machine).ToList();
        if (_endpoints.Count != BenchTopologies.MatrixEndpoints)
        {
            throw new InvalidOperationException($"expected {BenchTopologies.MatrixEndpoints} endpoint functions, built {_endpoints.Count}");
        }

        P2pDmaHost host = _machine.P2pDma;
        PciFunction provider = _endpoints[0];
        if (host.PcimP2pdmaInit(provider) != Errno.None)
        {
            throw new InvalidOperationException("pcim_p2pdma_init failed");
        }

        _provider = host.PcimP2pdmaProvider(provider, 0)!;
        _client = Device.ForPci(_endpoints[^1]);
        if (host.PciP2pdmaMapTypeOf(_provider, _client) != PciP2pdmaMapType.ThruHostBridge)
        {
            throw new InvalidOperationException("the first and last endpoint should be THRU_HOST_BRIDGE (different root ports)");
        }

        _key = P2pDmaHost.MapTypesIndex(_endpoints[^1]);
        _dictionary = _endpoints.ToDictionary(P2pDmaHost.MapTypesIndex, _ => PciP2pdmaMapType.BusAddr);
    }

    [GlobalCleanup]
    public void Cleanup() => _machine.Dispose();

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Matrix")]
    public long PairPassBaseline()
    {
        long sum = 0;
        foreach (PciFunction p in _endpoints)
        {
            foreach (PciFunction c in _endpoints)
            {
                sum += p.DevFn ^ c.DevFn;
            }
        }

        return sum;
    }

    /// <summary>Every pair's verdict with its reasons, as <c>p2pemu p2p</c> computes the matrix.</summary>
    [Benchmark]
    [BenchmarkCategory("Matrix")]
    public int FullMatrix1024() => P2pMatrix.Compute(_machine, null, Array.Empty<string>()).Pairs.Count;

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Lookup")]
    public PciP2pdmaMapType DictionaryLookupBaseline() => _dictionary.TryGetValue(_key, out PciP2pdmaMapType type) ? type : PciP2pdmaMapType.Unknown;

    [Benchmark]
    [BenchmarkCategory("Lookup")]
    public PciP2pdmaMapType CachedMapType() => _machine.P2pDma.PciP2pdmaMapTypeOf(_provider, _client);
}
