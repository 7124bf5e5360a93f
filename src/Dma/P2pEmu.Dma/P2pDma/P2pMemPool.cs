using System;
using System.Collections.Generic;

namespace P2pEmu.Dma.P2pDma;

/// <summary>
/// The p2pmem pool of one provider device: Linux's gen_pool with a minimum allocation order of
/// PAGE_SHIFT, fed by <c>pci_p2pdma_add_resource</c> one chunk per added range, allocating first fit in
/// whole pages. Each chunk's "phys" is the PCI bus address of its range.
/// </summary>
/// <remarks>Thread safe: allocation and free serialize on the pool.</remarks>
public sealed class P2pMemPool
{
    public const int PageShift = 12;
    public const ulong PageSize = 1UL << PageShift;

    private readonly List<Chunk> _chunks = new();
    private ulong _availableBytes;
    private int _allocations;

    /// <summary>Total bytes added (sysfs <c>size</c>).</summary>
    public ulong SizeBytes { get; private set; }

    /// <summary>Free bytes (sysfs <c>available</c>).</summary>
    public ulong AvailableBytes
    {
        get
        {
            lock (_chunks)
            {
                return _availableBytes;
            }
        }
    }

    /// <summary>
    /// Live allocations, each holding one page-map reference: one per <c>pci_alloc_p2pmem</c> allocation, and one
    /// per page an <c>allocate</c> mmap took (Linux gives those back page by page).
    /// </summary>
    public int Allocations
    {
        get
        {
            lock (_chunks)
            {
                return _allocations;
            }
        }
    }

    /// <summary>
    /// Linux <c>gen_pool_add_owner</c>: adds a page-aligned range of a provider's BAR. The owner is the
    /// range's page map, whose reference each allocation from the chunk takes (null: no page map).
    /// </summary>
    internal void AddChunk(P2pProvider provider, ulong barOffset, ulong busAddress, ulong sizeBytes, P2pPagemap? owner = null)
    {
        if ((barOffset | busAddress | sizeBytes) % PageSize != 0 || sizeBytes == 0)
        {
            throw new ArgumentException("A pool chunk must be a non-empty whole number of pages.", nameof(sizeBytes));
        }

        lock (_chunks)
        {
            _chunks.Add(new Chunk(provider, barOffset, busAddress, sizeBytes, owner));
            SizeBytes += sizeBytes;
            _availableBytes += sizeBytes;
        }
    }

    /// <summary>Linux <c>gen_pool_alloc</c> (first fit): null when no run of free pages is large enough, or for size 0.</summary>
    internal P2pMemory? Alloc(ulong sizeBytes)
    {
        if (sizeBytes == 0 || sizeBytes > SizeBytes)
        {
            return null;
        }

        long pages = (long)((sizeBytes + PageSize - 1) >> PageShift);
        lock (_chunks)
        {
            for (int c = 0; c < _chunks.Count; c++)
            {
                Chunk chunk = _chunks[c];
                long first = chunk.FindFreeRun(pages);
                if (first < 0)
                {
                    continue;
                }

                chunk.Mark(first, pages, used: true);
                ulong bytes = (ulong)pages << PageShift;
                _availableBytes -= bytes;
                _allocations++;
                ulong offset = (ulong)first << PageShift;
                return new P2pMemory(this, chunk.Provider, chunk.BusAddress + offset, chunk.BarOffset + offset, bytes, c, first, chunk.Owner);
            }
        }

        return null;
    }

    /// <summary>
    /// Linux <c>gen_pool_alloc_owner</c> for pages that are given back one by one (<see cref="FreeRun"/>): a first-fit
    /// run of whole pages, counted as one allocation per page.
    /// </summary>
    /// <param name="busAddress">The run's PCI bus address.</param>
    /// <param name="owner">The page map of the chunk the run came from.</param>
    /// <returns>False for size 0 or when no free run is large enough.</returns>
    internal bool TryAllocRun(ulong sizeBytes, out ulong busAddress, out P2pPagemap? owner)
    {
        busAddress = 0;
        owner = null;
        if (sizeBytes == 0 || sizeBytes > SizeBytes)
        {
            return false;
        }

        long pages = (long)((sizeBytes + PageSize - 1) >> PageShift);
        lock (_chunks)
        {
            foreach (Chunk chunk in _chunks)
            {
                long first = chunk.FindFreeRun(pages);
                if (first < 0)
                {
                    continue;
                }

                chunk.Mark(first, pages, used: true);
                _availableBytes -= (ulong)pages << PageShift;
                _allocations += (int)pages;
                busAddress = chunk.BusAddress + ((ulong)first << PageShift);
                owner = chunk.Owner;
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Linux <c>gen_pool_free</c> by address, for pages from <see cref="TryAllocRun"/>: [busAddress, busAddress +
    /// sizeBytes) goes back to the pool, one allocation per page.
    /// </summary>
    /// <exception cref="InvalidOperationException">A page of the range is not an allocated page of this pool.</exception>
    internal void FreeRun(ulong busAddress, ulong sizeBytes)
    {
        long pages = (long)(sizeBytes >> PageShift);
        lock (_chunks)
        {
            foreach (Chunk chunk in _chunks)
            {
                if (busAddress < chunk.BusAddress || busAddress - chunk.BusAddress >= chunk.SizeBytes)
                {
                    continue;
                }

                long first = (long)((busAddress - chunk.BusAddress) >> PageShift);
                if (first + pages > chunk.Pages || !chunk.AllUsed(first, pages))
                {
                    break;
                }

                chunk.Mark(first, pages, used: false);
                _availableBytes += (ulong)pages << PageShift;
                _allocations -= (int)pages;
                return;
            }
        }

        throw new InvalidOperationException($"[0x{busAddress:x}, +0x{sizeBytes:x}) is not allocated from this pool.");
    }

    /// <summary>Linux <c>gen_pool_free</c>.</summary>
    /// <exception cref="InvalidOperationException">The allocation is from another pool or was already freed.</exception>
    internal void Free(P2pMemory memory)
    {
        if (!TryFree(memory))
        {
            throw new InvalidOperationException($"{memory} is not a live allocation of this pool.");
        }
    }

    /// <summary>
    /// <see cref="Free"/> that reports misuse instead of throwing: false when the allocation is from another
    /// pool or was already freed (checked and freed atomically, so one of two racing frees fails).
    /// </summary>
    internal bool TryFree(P2pMemory memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        lock (_chunks)
        {
            if (!ReferenceEquals(memory.Pool, this) || memory.IsFreed)
            {
                return false;
            }

            long pages = (long)(memory.SizeBytes >> PageShift);
            _chunks[memory.Chunk].Mark(memory.FirstPage, pages, used: false);
            memory.IsFreed = true;
            _availableBytes += memory.SizeBytes;
            _allocations--;
            return true;
        }
    }

    /// <summary>One added range and its page bitmap (a set bit is a used page).</summary>
    private sealed class Chunk
    {
        private readonly ulong[] _used;
        private readonly long _pages;

        public Chunk(P2pProvider provider, ulong barOffset, ulong busAddress, ulong sizeBytes, P2pPagemap? owner)
        {
            Provider = provider;
            Owner = owner;
            BarOffset = barOffset;
            BusAddress = busAddress;
            SizeBytes = sizeBytes;
            _pages = (long)(sizeBytes >> PageShift);
            _used = new ulong[(_pages + 63) / 64];
        }

        public P2pProvider Provider { get; }

        /// <summary>The gen_pool chunk owner: the page map whose reference an allocation takes.</summary>
        public P2pPagemap? Owner { get; }

        public ulong BarOffset { get; }

        public ulong BusAddress { get; }

        public ulong SizeBytes { get; }

        public long Pages => _pages;

        public bool AllUsed(long first, long pages)
        {
            for (long page = first; page < first + pages; page++)
            {
                if ((_used[page >> 6] & (1UL << (int)(page & 63))) == 0)
                {
                    return false;
                }
            }

            return true;
        }

        public long FindFreeRun(long pages)
        {
            long run = 0;
            for (long page = 0; page < _pages; page++)
            {
                ulong word = _used[page >> 6];
                if (word == ulong.MaxValue && (page & 63) == 0 && run == 0)
                {
                    page += 63;
                    continue;
                }

                run = (word & (1UL << (int)(page & 63))) != 0 ? 0 : run + 1;
                if (run == pages)
                {
                    return page - pages + 1;
                }
            }

            return -1;
        }

        public void Mark(long first, long pages, bool used)
        {
            for (long page = first; page < first + pages; page++)
            {
                ulong bit = 1UL << (int)(page & 63);
                _used[page >> 6] = used ? _used[page >> 6] | bit : _used[page >> 6] & ~bit;
            }
        }
    }
}
