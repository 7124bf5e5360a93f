using System;
using System.Diagnostics;
using System.Globalization;
using System.Threading;
using P2pEmu.Dma.Mm;
using P2pEmu.Emulator.Fabric;

namespace P2pEmu.Dma.P2pDma;

/// <summary>
/// Linux <c>struct pci_p2pdma_pagemap</c>: the ZONE_DEVICE page map that one <c>pci_p2pdma_add_resource</c> call
/// created over a range of a BAR (spec §1.2), with its percpu reference. Every p2pmem allocation from the range
/// holds one reference, and so does every page of the range that is in use by a user address space (mapped
/// through the sysfs <c>allocate</c> file, or pinned): the page's last <c>put_page</c> runs <see cref="FolioFree"/>,
/// which gives it back to the pool and drops its reference.
/// </summary>
/// <remarks>
/// <para>
/// Lifecycle (spec §1.3 step 5, the refcount drain, mm/memremap.c <c>memunmap_pages</c>): live from creation;
/// <see cref="Kill"/> marks it dying, so <see cref="TryGetLive"/> fails (new allocations and mmaps fail) while
/// references already held are dropped normally; teardown then waits (<see cref="WaitForDrain"/>) until
/// <see cref="References"/> reaches zero, and only then removes the range (<see cref="IsReleased"/>). The
/// references Linux's page map holds on itself (one per page, dropped by <c>memunmap_pages</c>) are not counted.
/// </para>
/// <para>Thread safety: every member may be called from any thread; the count and the flags change together under
/// one lock, so no reference is taken after <see cref="Kill"/> returned, and a waiter wakes with the last put.</para>
/// </remarks>
public sealed class P2pPagemap
{
    private readonly object _gate = new();
    private long _references;
    private bool _dying;
    private bool _released;

    internal P2pPagemap(P2pProvider provider, ulong barOffset, AddressRange range, P2pMemPool pool)
    {
        Provider = provider;
        BarOffset = barOffset;
        Range = range;
        Pool = pool;
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

    /// <summary>Live references: allocations and pages in use not yet given back.</summary>
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

    /// <summary>True once teardown removed the range (<c>pageunmap_range</c>): the pages no longer exist.</summary>
    public bool IsReleased
    {
        get
        {
            lock (_gate)
            {
                return _released;
            }
        }
    }

    /// <summary>The pool the range was added to (the gen_pool chunk whose owner this map is).</summary>
    internal P2pMemPool Pool { get; }

    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Provider} pgmap {Range} ({References} refs{(IsReleased ? ", released" : IsDying ? ", dying" : string.Empty)})");

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

    /// <summary>Linux <c>percpu_ref_get</c>, by a caller that already holds a reference (so the map cannot drain meanwhile).</summary>
    /// <exception cref="InvalidOperationException">No reference is held (a host-side bug).</exception>
    internal void Get()
    {
        lock (_gate)
        {
            if (_references == 0)
            {
                throw new InvalidOperationException($"{Provider} pgmap {Range}: reference taken without holding one.");
            }

            _references++;
        }
    }

    /// <summary>Linux <c>percpu_ref_put</c>; the last put of a dying map wakes its teardown.</summary>
    /// <exception cref="InvalidOperationException">No reference is held (a double put: a host-side bug).</exception>
    internal void Put()
    {
        lock (_gate)
        {
            if (_references == 0)
            {
                throw new InvalidOperationException($"{Provider} pgmap {Range}: reference dropped that was never taken.");
            }

            if (--_references == 0 && _dying)
            {
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>Linux <c>percpu_ref_kill</c>, the first step of teardown: later <see cref="TryGetLive"/> calls fail. Idempotent.</summary>
    internal void Kill()
    {
        lock (_gate)
        {
            _dying = true;
        }
    }

    /// <summary>
    /// The <c>wait_for_completion(&amp;pgmap-&gt;done)</c> of <c>memunmap_pages</c>: blocks until a dying map has no
    /// reference left, or until <paramref name="timeout"/> passes (<see cref="Timeout.InfiniteTimeSpan"/>: no limit).
    /// </summary>
    /// <returns>True when the map is drained; false on timeout.</returns>
    /// <exception cref="InvalidOperationException">The map was not killed (nothing would stop new references).</exception>
    internal bool WaitForDrain(TimeSpan timeout)
    {
        long started = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            if (!_dying)
            {
                throw new InvalidOperationException($"{this}: waiting for a drain that was never started.");
            }

            while (_references != 0)
            {
                TimeSpan left = timeout == Timeout.InfiniteTimeSpan ? timeout : timeout - Stopwatch.GetElapsedTime(started);
                if (left != Timeout.InfiniteTimeSpan && left <= TimeSpan.Zero)
                {
                    return false;
                }

                Monitor.Wait(_gate, left);
            }

            return true;
        }
    }

    /// <summary>Linux <c>pageunmap_range</c>, after the drain: the range's pages are gone.</summary>
    /// <exception cref="InvalidOperationException">The map is not drained (a host-side bug).</exception>
    internal void MarkReleased()
    {
        lock (_gate)
        {
            if (!_dying || _references != 0)
            {
                throw new InvalidOperationException($"{this}: released before the drain.");
            }

            _released = true;
        }
    }

    /// <summary>
    /// <c>p2pdma_folio_free</c>, the page map's <c>folio_free</c> operation, run by a page's last
    /// <c>put_page</c>: the page goes back to the pool and the reference it held is dropped.
    /// </summary>
    internal void FolioFree(Page page)
    {
        Pool.FreeRun(P2pDmaHost.PciP2pdmaBusAddrMap(Provider, page.Phys.Value), Page.PageSize);
        Put();
    }
}
