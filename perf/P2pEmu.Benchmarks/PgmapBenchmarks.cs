using System;
using BenchmarkDotNet.Attributes;
using P2pEmu.Dma.Mm;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Benchmarks;

/// <summary>
/// <c>pin_user_pages</c> + <c>unpin_user_pages</c> of <see cref="Pages"/> pages, as one O_DIRECT request of that
/// size does: over a P2P buffer mapped from the provider's <c>allocate</c> file (with FOLL_PCI_P2PDMA), and over
/// anonymous host memory. Baseline: copying the same number of page references from one array to another,
/// which is the part of GUP that is nothing but filling the caller's array.
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet generates a subclass.</remarks>
[MemoryDiagnoser]
public class PgmapBenchmarks : IDisposable
{
    private Machine.Machine _machine = null!;
    private MmStruct _mm = null!;
    private ulong _p2p;
    private ulong _host;
    private Page[] _pages = null!;
    private Page[] _copy = null!;

    /// <summary>Pages per request: 4 KiB and 256 KiB.</summary>
    [Params(1, 64)]
    public int Pages { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _machine = Machine.Machine.Build(BenchTopologies.Hb0());
        var provider = (PciEndpoint)_machine.Fabric["a"];
        if (_machine.P2pDma.PciP2pdmaAddResource(provider, 0, 2 * BenchTopologies.MiB, 0) != Errno.None)
        {
            throw new InvalidOperationException("pci_p2pdma_add_resource failed");
        }

        _mm = new MmStruct(_machine.Fabric, _machine.Pages, "bench");
        ulong bytes = (ulong)Pages * Page.PageSize;
        _p2p = _mm.Mmap(0, bytes, Prot.Read | Prot.Write, MapFlags.Shared, _machine.P2pDma.GetP2pmemSysfs(provider)!.Allocate).Value;
        _host = _mm.Mmap(0, bytes, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Populate).Value;
        _pages = new Page[Pages];
        _copy = new Page[Pages];
        if (_mm.PinUserPages(_p2p, Pages, FollFlags.Write | FollFlags.PciP2pdma, _pages).Value != Pages)
        {
            throw new InvalidOperationException("the P2P buffer did not pin");
        }

        Gup.UnpinUserPages(_pages);
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _mm?.Dispose();
        _machine?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(Baseline = true)]
    public Page[] PageArrayCopyBaseline()
    {
        _pages.AsSpan().CopyTo(_copy);
        return _copy;
    }

    [Benchmark]
    public int PinUnpinP2p()
    {
        int pinned = _mm.PinUserPages(_p2p, Pages, FollFlags.Write | FollFlags.PciP2pdma, _pages).Value;
        Gup.UnpinUserPages(_pages.AsSpan(0, pinned));
        return pinned;
    }

    [Benchmark]
    public int PinUnpinHost()
    {
        int pinned = _mm.PinUserPages(_host, Pages, FollFlags.Write, _pages).Value;
        Gup.UnpinUserPages(_pages.AsSpan(0, pinned));
        return pinned;
    }
}
