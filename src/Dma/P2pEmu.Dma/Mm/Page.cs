using System;
using System.Globalization;
using System.Threading;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Dma.Mm;

/// <summary>
/// Linux <c>struct page</c> (an order-0 folio) of a page in use by a user address space: a host RAM page from the
/// kernel's page allocator, or a ZONE_DEVICE P2P page of a provider's page map. A page is named by its physical
/// address; while it is in use there is exactly one object for it, which page tables, pins and callers share.
/// </summary>
/// <remarks>
/// <para>
/// Reference counting is Linux's: each page-table entry holds one reference, each pin one more. When the last
/// reference goes the page is freed: a host page back to <see cref="HostPageAllocator"/>, a P2P page through its
/// page map's <c>folio_free</c> (<c>p2pdma_folio_free</c>: back to the p2pmem pool, and the page map reference
/// the page held is dropped). A freed page object is dead: the same physical page, handed out again, gets a new
/// object.
/// </para>
/// <para>
/// Deviation: a pin adds 1 to <see cref="RefCount"/> and is also counted in <see cref="PinCount"/>, where Linux
/// adds <c>GUP_PIN_COUNTING_BIAS</c> (1024) and infers pins from the reference count.
/// </para>
/// <para>Thread safety: every member may be called from any thread; the counts change with interlocked operations.</para>
/// </remarks>
public sealed class Page
{
    /// <summary>log2 of the page size.</summary>
    public const int PageShift = 12;

    /// <summary>The page size: 4 KiB.</summary>
    public const ulong PageSize = 1UL << PageShift;

    private readonly HostPageAllocator? _allocator;
    private int _refCount;
    private int _pinCount;

    /// <summary>A host RAM page from <paramref name="allocator"/>, with no reference yet.</summary>
    internal Page(PhysAddress phys, HostPageAllocator allocator)
    {
        Phys = phys;
        _allocator = allocator;
    }

    /// <summary>A ZONE_DEVICE page of <paramref name="pgmap"/>, with no reference yet.</summary>
    internal Page(PhysAddress phys, P2pPagemap pgmap)
    {
        Phys = phys;
        Pgmap = pgmap;
    }

    /// <summary><c>page_to_phys</c>: the CPU physical address of the page.</summary>
    public PhysAddress Phys { get; }

    /// <summary><c>page_pgmap</c>: the P2P page map this page belongs to; null for a host RAM page.</summary>
    public P2pPagemap? Pgmap { get; }

    /// <summary>Linux <c>is_pci_p2pdma_page</c>: a ZONE_DEVICE page of type <c>MEMORY_DEVICE_PCI_P2PDMA</c>.</summary>
    public bool IsPciP2pdmaPage => Pgmap is not null;

    /// <summary><c>page_ref_count</c>: page-table references plus pins.</summary>
    public int RefCount => Volatile.Read(ref _refCount);

    /// <summary>Pins held (<c>pin_user_pages</c> not yet matched by <c>unpin_user_page</c>).</summary>
    public int PinCount => Volatile.Read(ref _pinCount);

    /// <summary><c>folio_maybe_dma_pinned</c> (exact here).</summary>
    public bool MaybeDmaPinned => PinCount > 0;

    /// <summary>True once the last reference went and the page was given back.</summary>
    public bool IsFreed { get; private set; }

    /// <summary>
    /// Linux <c>zone_device_pages_have_same_pgmap</c>: whether two pages may share one bio segment list — both host
    /// pages, or both ZONE_DEVICE pages of the same page map (the block layer's rule that one request never mixes
    /// P2P and host pages, or two providers' pages; spec §3.4).
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static bool ZoneDevicePagesHaveSamePgmap(Page a, Page b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return ReferenceEquals(a.Pgmap, b.Pgmap);
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"page {Phys}{(IsPciP2pdmaPage ? " (p2pdma)" : string.Empty)} ref {RefCount} pin {PinCount}");

    /// <summary>
    /// A zeroed host RAM page with one reference (an anonymous page fault), or ENOMEM when the page allocator is
    /// out of memory.
    /// </summary>
    internal static Result<Page> AllocHost(HostPageAllocator allocator)
    {
        Result<ulong> bus = allocator.AllocPage();
        if (!bus.IsSuccess)
        {
            return bus.Error;
        }

        var page = new Page(new PhysAddress(bus.Value), allocator);
        page._refCount = 1;
        return Result.Ok(page);
    }

    /// <summary>Linux <c>set_page_count</c>, for a page that nobody else can see yet.</summary>
    internal void SetRefCount(int count) => Volatile.Write(ref _refCount, count);

    /// <summary>Linux <c>get_page</c>.</summary>
    /// <exception cref="InvalidOperationException">The page has no reference (it is free): a host-side bug.</exception>
    internal void Get()
    {
        if (Interlocked.Increment(ref _refCount) <= 1)
        {
            throw new InvalidOperationException($"{this}: reference taken on a free page.");
        }
    }

    /// <summary>Linux <c>put_page</c>: drops a reference and frees the page with the last one.</summary>
    /// <exception cref="InvalidOperationException">No reference is held (a double put).</exception>
    internal void Put()
    {
        int left = Interlocked.Decrement(ref _refCount);
        if (left < 0)
        {
            throw new InvalidOperationException($"{this}: reference dropped that was never taken.");
        }

        if (left == 0)
        {
            Free();
        }
    }

    /// <summary>
    /// Linux <c>try_grab_folio(folio, 1, FOLL_PIN)</c> on a mapped page: one more reference, counted as a pin.
    /// The caller holds the page-table lock, so a page-table reference keeps the page alive meanwhile.
    /// </summary>
    internal void Pin()
    {
        Interlocked.Increment(ref _pinCount);
        Get();
    }

    /// <summary>Linux <c>unpin_user_page</c>.</summary>
    /// <exception cref="InvalidOperationException">The page is not pinned (an unpin without a pin).</exception>
    internal void Unpin()
    {
        if (Interlocked.Decrement(ref _pinCount) < 0)
        {
            Interlocked.Increment(ref _pinCount);
            throw new InvalidOperationException($"{this}: unpinned but not pinned.");
        }

        Put();
    }

    private void Free()
    {
        IsFreed = true;
        if (Pgmap is not null)
        {
            Pgmap.FolioFree(this);
        }
        else
        {
            _allocator!.FreePage(Phys.Value);
        }
    }
}
