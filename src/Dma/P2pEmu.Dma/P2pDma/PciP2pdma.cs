using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Dma.P2pDma;

/// <summary>
/// Linux <c>struct pci_p2pdma</c>, a device's P2PDMA state (<c>pdev-&gt;p2pdma</c>): the p2pmem pool (null
/// for a naked provider), whether the memory is published, the map-type cache, and the per-BAR providers.
/// </summary>
public sealed class PciP2pdma
{
    private P2pPagemap[] _pagemaps = Array.Empty<P2pPagemap>();
    private volatile bool _teardownStarted;
    private volatile bool _released;

    internal PciP2pdma(PciFunction device)
    {
        Device = device;
    }

    public PciFunction Device { get; }

    /// <summary>The gen_pool of p2pmem; null until the first <c>pci_p2pdma_add_resource</c>.</summary>
    public P2pMemPool? Pool { get; internal set; }

    public bool P2pmemPublished { get; internal set; }

    /// <summary>
    /// The <c>map_types</c> xarray, keyed by the client's <c>(domain &lt;&lt; 16) | (bus &lt;&lt; 8) | devfn</c>.
    /// Like Linux's, it is never invalidated when ACS or the topology changes; only
    /// <c>pci_p2pdma_distance_many</c> overwrites entries.
    /// </summary>
    internal ConcurrentDictionary<int, PciP2pdmaMapType> MapTypes { get; } = new();

    /// <summary>The providers, one per BAR; null for BARs that are not memory.</summary>
    internal P2pProvider?[] Mem { get; } = new P2pProvider?[6];

    /// <summary>How many map types are cached.</summary>
    public int CachedMapTypes => MapTypes.Count;

    /// <summary>
    /// The page maps <c>pci_p2pdma_add_resource</c> created, oldest first (Linux keeps them as devres
    /// entries, which teardown releases newest first). A snapshot: safe to read while resources are added.
    /// </summary>
    public IReadOnlyList<P2pPagemap> Pagemaps => Volatile.Read(ref _pagemaps);

    /// <summary>The sysfs <c>p2pmem</c> group, created together with <see cref="Pool"/>.</summary>
    internal P2pmemSysfs? Sysfs { get; set; }

    /// <summary>
    /// Where the device is in the provider state machine (spec §1.3): <see cref="P2pProviderState.Gone"/> once
    /// removal finished, <see cref="P2pProviderState.Teardown"/> while it runs, otherwise the furthest of
    /// published, resources added, pool set up, initialised.
    /// </summary>
    public P2pProviderState State =>
        _released ? P2pProviderState.Gone
        : _teardownStarted ? P2pProviderState.Teardown
        : P2pmemPublished ? P2pProviderState.Published
        : Pagemaps.Count != 0 ? P2pProviderState.Resources
        : Pool is not null ? P2pProviderState.Pool
        : P2pProviderState.Init;

    /// <summary>Serializes removals of this state, so a second remove continues where a timed-out one stopped.</summary>
    internal Lock TeardownLock { get; } = new();

    /// <summary>True once removal started (set under the host's state lock).</summary>
    internal bool TeardownStarted
    {
        get => _teardownStarted;
        set => _teardownStarted = value;
    }

    /// <summary>True once removal finished and the state was detached from the device.</summary>
    internal bool Released
    {
        get => _released;
        set => _released = value;
    }

    /// <summary>Records a new page map; callers serialize on the host's state lock.</summary>
    internal void AddPagemap(P2pPagemap pagemap)
    {
        P2pPagemap[] current = _pagemaps;
        var next = new P2pPagemap[current.Length + 1];
        current.CopyTo(next, 0);
        next[^1] = pagemap;
        Volatile.Write(ref _pagemaps, next);
    }
}
