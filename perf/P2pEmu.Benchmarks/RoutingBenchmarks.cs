using System;
using System.Collections.Generic;
using BenchmarkDotNet.Attributes;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Benchmarks;

/// <summary>
/// Cost of one routing decision, <see cref="PcieFabric.Route"/>, on hb0 (rp → sw0 {dp0 → a, dp1 → b,
/// dp2 → c}, rp2 → d): a peer write turned around in the switch, the same write redirected by ACS RR on
/// dp0 through the root complex, and a write to host RAM. Target: under 20 ns and 0 B per decision.
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet derives from benchmark classes and rejects sealed ones.</remarks>
[MemoryDiagnoser]
public class RoutingBenchmarks
{
    /// <summary>A host RAM bus address well inside hb0's RAM.</summary>
    private const ulong RamAddress = 16 * BenchTopologies.MiB;

    private PcieFabric _fabric = null!;
    private PcieFabric _redirecting = null!;
    private PciFunction _a = null!;
    private PciFunction _redirectingA = null!;
    private DmaAddress _bBar;
    private DmaAddress _ram;
    private ulong[] _decodeTable = null!;

    [GlobalSetup]
    public void Setup()
    {
        _fabric = FabricBuilder.Build(BenchTopologies.Hb0());
        _redirecting = FabricBuilder.Build(BenchTopologies.Hb0(AcsFlags.RR));
        _a = _fabric["a"];
        _redirectingA = _redirecting["a"];
        PciBar bar = ((PciEndpoint)_fabric["b"]).Bars[0];
        _decodeTable = BuildDecodeTable(_fabric);

        // Both fabrics are enumerated the same way, so b's BAR has the same bus address in each.
        _bBar = new DmaAddress(bar.Address + (bar.SizeBytes / 2));
        _ram = new DmaAddress(RamAddress);

        Expect(_fabric.Route(_a, _bBar, AccessKind.Write), RoutePath.SwitchPeer);
        Expect(_redirecting.Route(_redirectingA, _bBar, AccessKind.Write), RoutePath.RootComplexPeer);
        Expect(_fabric.Route(_a, _ram, AccessKind.Write), RoutePath.HostMemory);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _fabric.Dispose();
        _redirecting.Dispose();
    }

    /// <summary>
    /// The trivial floor of a decision: find b's BAR address in a flat table of the machine's five memory ranges
    /// (RAM, then the BARs of a, b, c, d) by comparing it with each range. A single range compare measures as
    /// 0 ns, which leaves no ratio to report.
    /// </summary>
    [Benchmark(Baseline = true)]
    public int FlatDecodeTableLookup()
    {
        ulong address = _bBar.Value;
        ulong[] table = _decodeTable;
        for (int i = 0; i + 1 < table.Length; i += 2)
        {
            if (unchecked(address - table[i]) < table[i + 1])
            {
                return i / 2;
            }
        }

        return -1;
    }

    /// <summary>a → b's BAR: dp0 finds b's window on sibling dp1 and turns the write around in the switch.</summary>
    [Benchmark]
    public RouteResult PeerWriteAtSwitch() => _fabric.Route(_a, _bBar, AccessKind.Write);

    /// <summary>a → b's BAR with ACS RR on dp0: up to the root complex, translated (identity), back down rp to b.</summary>
    [Benchmark]
    public RouteResult RedirectedPeerWrite() => _redirecting.Route(_redirectingA, _bBar, AccessKind.Write);

    /// <summary>a → host RAM: up through dp0, sw0 and rp to the root complex, claimed by RAM.</summary>
    [Benchmark]
    public RouteResult HostRamWrite() => _fabric.Route(_a, _ram, AccessKind.Write);

    /// <summary>(base, size) pairs: host RAM's low range, then every memory BAR in kernel list order.</summary>
    private static ulong[] BuildDecodeTable(PcieFabric fabric)
    {
        var table = new List<ulong> { 0, Math.Min(fabric.Ram.SizeBytes, PcieFabric.LowRamLimit) };
        foreach (PciFunction function in fabric.Functions)
        {
            if (function is PciEndpoint endpoint)
            {
                foreach (PciBar bar in endpoint.Bars)
                {
                    table.Add(bar.Address);
                    table.Add(bar.SizeBytes);
                }
            }
        }

        return table.ToArray();
    }

    private static void Expect(in RouteResult route, RoutePath path)
    {
        if (!route.IsDelivered || route.Path != path)
        {
            throw new InvalidOperationException($"Benchmark topology routes unexpectedly: expected {path}, got {route}.");
        }
    }
}
