using System;
using System.Collections.Generic;
using System.Threading;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Memory;

namespace P2pEmu.Emulator.Host;

/// <summary>
/// The kernel's page allocator over a fabric's host RAM (Linux <c>alloc_pages</c>/<c>__free_pages</c>): a buddy
/// allocator handing out naturally aligned blocks of 2^order pages of 4 KiB, each zeroed, named by its bus address.
/// It serves IOMMU page tables and DMA buffers.
/// </summary>
/// <remarks>
/// <para>
/// Page 0 (bus address 0) is never handed out, so a zero address always means "none". Blocks never straddle the
/// 32-bit MMIO hole: RAM beyond <see cref="PcieFabric.LowRamLimit"/> continues at <see cref="PcieFabric.HighRamBase"/>,
/// and every block is aligned to its size in RAM, which the hole's 2 GiB boundary is a multiple of.
/// </para>
/// <para>
/// Placement is deterministic and top-down: the free block at the highest address that is large enough is split and
/// its highest part handed out, so allocations collect at the top of RAM, away from the low addresses tests and
/// scenarios use for fixed buffers (a small low block stays free until the top is used up).
/// </para>
/// <para>
/// Deviation from Linux: blocks go up to <see cref="MaxOrder"/> = 18 (1 GiB) instead of <c>MAX_PAGE_ORDER</c> = 10,
/// so one call can back a large DMA buffer; there are no zones, migrate types or per-CPU lists.
/// </para>
/// <para>Thread safety: every member may be called from any thread; the free lists are guarded by one lock and
/// zeroing runs outside it.</para>
/// </remarks>
public sealed class HostPageAllocator
{
    /// <summary>log2 of the page size.</summary>
    public const int PageShift = 12;

    /// <summary>The page size: 4 KiB.</summary>
    public const ulong PageSize = 1UL << PageShift;

    /// <summary>The largest order a block can have (2^18 pages = 1 GiB).</summary>
    public const int MaxOrder = 18;

    private readonly PcieFabric _fabric;
    private readonly BarRegion _ram;
    private readonly Lock _lock = new();

    // Free blocks per order, by first page frame number (RAM offset >> PageShift). SortedSet gives the highest first.
    private readonly SortedSet<long>[] _free = new SortedSet<long>[MaxOrder + 1];

    // Allocated blocks by first page frame number, with their order: catches double and mismatched frees.
    private readonly Dictionary<long, int> _allocated = new();
    private long _freePages;

    /// <summary>Manages all of <paramref name="fabric"/>'s host RAM except page 0.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="fabric"/> is null.</exception>
    public HostPageAllocator(PcieFabric fabric)
    {
        ArgumentNullException.ThrowIfNull(fabric);
        _fabric = fabric;
        _ram = fabric.Ram.Region;
        for (int order = 0; order <= MaxOrder; order++)
        {
            _free[order] = new SortedSet<long>();
        }

        TotalPageCount = (long)(fabric.Ram.SizeBytes >> PageShift);

        // Decompose [1, TotalPageCount) into the largest naturally aligned blocks.
        long pfn = 1;
        while (pfn < TotalPageCount)
        {
            int order = 0;
            while (order < MaxOrder && (pfn & ((1L << (order + 1)) - 1)) == 0 && pfn + (1L << (order + 1)) <= TotalPageCount)
            {
                order++;
            }

            _free[order].Add(pfn);
            _freePages += 1L << order;
            pfn += 1L << order;
        }
    }

    /// <summary>Whole pages of host RAM (page 0 included, though it is never handed out).</summary>
    public long TotalPageCount { get; }

    /// <summary>Pages currently free.</summary>
    public long FreePageCount
    {
        get
        {
            lock (_lock)
            {
                return _freePages;
            }
        }
    }

    /// <summary>Linux <c>get_order</c>: the smallest order whose block holds <paramref name="sizeBytes"/> (0 for 0).</summary>
    public static int OrderForBytes(ulong sizeBytes)
    {
        int order = 0;
        while (order < 64 - PageShift && (PageSize << order) < sizeBytes)
        {
            order++;
        }

        return order;
    }

    /// <summary>Allocates one zeroed page.</summary>
    /// <returns>Its bus address, or <see cref="Errno.ENOMEM"/>.</returns>
    public Result<ulong> AllocPage() => AllocPages(0);

    /// <summary>Allocates 2^<paramref name="order"/> contiguous, zeroed pages aligned to their size.</summary>
    /// <returns>The bus address of the first page, or <see cref="Errno.ENOMEM"/> when no block is large enough.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="order"/> is negative or above <see cref="MaxOrder"/>.</exception>
    public Result<ulong> AllocPages(int order)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(order);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(order, MaxOrder);
        long pfn;
        lock (_lock)
        {
            // The highest free block that is large enough, whatever its order (top-down placement).
            int from = -1;
            pfn = -1;
            for (int candidate = order; candidate <= MaxOrder; candidate++)
            {
                if (_free[candidate].Count != 0 && _free[candidate].Max > pfn)
                {
                    pfn = _free[candidate].Max;
                    from = candidate;
                }
            }

            if (from < 0)
            {
                return Errno.ENOMEM;
            }

            _free[from].Remove(pfn);

            // Split top-down: the lower half goes back on the free list, the upper half is split further.
            while (from > order)
            {
                from--;
                _free[from].Add(pfn);
                pfn += 1L << from;
            }

            _allocated.Add(pfn, order);
            _freePages -= 1L << order;
        }

        ulong offset = (ulong)pfn << PageShift;
        _ram.Fill(offset, PageSize << order, 0);
        return Result.Ok(_fabric.RamBusAddress(offset));
    }

    /// <summary>Frees a page from <see cref="AllocPage"/>.</summary>
    /// <exception cref="ArgumentException">The address is not an allocated block of order 0.</exception>
    public void FreePage(ulong busAddress) => FreePages(busAddress, 0);

    /// <summary>Frees a block from <see cref="AllocPages"/>; <paramref name="order"/> must be the order it was allocated with.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="order"/> is negative or above <see cref="MaxOrder"/>.</exception>
    /// <exception cref="ArgumentException">
    /// The address is not in host RAM, is not the start of an allocated block, or the block has another order
    /// (a double free or a mismatched order, as the kernel's <c>bad_page</c> reports).
    /// </exception>
    public void FreePages(ulong busAddress, int order)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(order);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(order, MaxOrder);
        if (!_fabric.TryFindRam(busAddress, out ulong offset, out _) || (offset & (PageSize - 1)) != 0)
        {
            throw new ArgumentException($"0x{busAddress:x} is not a page of host RAM.", nameof(busAddress));
        }

        long pfn = (long)(offset >> PageShift);
        lock (_lock)
        {
            if (!_allocated.TryGetValue(pfn, out int allocatedOrder) || allocatedOrder != order)
            {
                throw new ArgumentException(
                    $"0x{busAddress:x} is not an allocated block of order {order} (double free or wrong order).",
                    nameof(busAddress));
            }

            _allocated.Remove(pfn);
            _freePages += 1L << order;

            // Merge with the buddy while it is free at the same order.
            while (order < MaxOrder)
            {
                long buddy = pfn ^ (1L << order);
                if (!_free[order].Remove(buddy))
                {
                    break;
                }

                pfn = Math.Min(pfn, buddy);
                order++;
            }

            _free[order].Add(pfn);
        }
    }
}
