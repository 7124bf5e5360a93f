using System;
using System.Globalization;
using System.Threading;
using P2pEmu.Emulator.Fabric;

namespace P2pEmu.Dma.P2pDma;

/// <summary>
/// Linux <c>struct pci_p2pdma_pagemap</c>: the ZONE_DEVICE page map that one
/// <c>pci_p2pdma_add_resource</c> call created over a range of a BAR (spec §1.2), with its percpu
/// reference. Every p2pmem allocation from the range holds one reference, and so will every pinned page
/// (GUP) once that is modelled.
/// </summary>
/// <remarks>
/// <para>
/// Lifecycle (spec §1.3 step 5, the refcount drain): live from creation; <see cref="Kill"/> marks it dying so
/// <see cref="TryGetLive"/> fails (new allocations return NULL) while existing references are still
/// dropped normally; teardown then waits for <see cref="References"/> to reach zero before the range is
/// removed. Only the dying flag exists so far; the wait and the removal belong to provider teardown.
/// </para>
/// <para>Thread safety: every member may be called from any thread; the reference count and the dying flag
/// change together under one lock, so a reference is never taken after <see cref="Kill"/> returned.</para>
/// </remarks>
public sealed class P2pPagemap
{
    private readonly Lock _gate = new();
    private long _references;
    private bool _dying;

    internal P2pPagemap(P2pProvider provider, ulong barOffset, AddressRange range)
    {
        Provider = provider;
        BarOffset = barOffset;
        Range = range;
    }

    /// <summary>The provider (BAR) the pages belong to (<c>p2p_pgmap-&gt;mem</c>).</summary>
    public P2pProvider Provider { get; }

    /// <summary>Where the range starts inside the provider's BAR (the <c>offset</c> argument).</summary>
    public ulong BarOffset { get; }

    /// <summary>
    /// <c>pgmap-&gt;range</c>: the CPU physical addresses of the pages. In this machine a BAR's CPU physical
    /// address equals its bus address, so this is also the bus range peers use.
    /// </summary>
    public AddressRange Range { get; }

    /// <summary>Live references: allocations (and, later, pinned pages) not yet returned.</summary>
    public long References
    {
        get
        {
            lock (_gate)
            {
                return _references;
            }
        }
    }

    /// <summary>True once <see cref="Kill"/> ran (<c>percpu_ref_kill</c>): no new reference can be taken.</summary>
    public bool IsDying
    {
        get
        {
            lock (_gate)
            {
                return _dying;
            }
        }
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Provider} pgmap {Range} ({References} refs{(IsDying ? ", dying" : string.Empty)})");

    /// <summary>Linux <c>percpu_ref_tryget_live</c>: takes a reference unless the map is dying.</summary>
    internal bool TryGetLive()
    {
        lock (_gate)
        {
            if (_dying)
            {
                return false;
            }

            _references++;
            return true;
        }
    }

    /// <summary>Linux <c>percpu_ref_put</c>.</summary>
    /// <exception cref="InvalidOperationException">No reference is held (a double put: a host-side bug).</exception>
    internal void Put()
    {
        lock (_gate)
        {
            if (_references == 0)
            {
                throw new InvalidOperationException($"{Provider} pgmap {Range}: reference dropped that was never taken.");
            }

            _references--;
        }
    }

    /// <summary>Linux <c>percpu_ref_kill</c>, the first step of teardown: later <see cref="TryGetLive"/> calls fail.</summary>
    internal void Kill()
    {
        lock (_gate)
        {
            _dying = true;
        }
    }
}
