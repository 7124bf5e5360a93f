using System.Collections.Generic;
using System.Threading;

namespace P2pEmu.Iommu.IovaAllocator;

/// <summary>
/// One CPU's flush queue of a lazy DMA domain (Linux <c>struct iova_fq</c>): a ring of IOVA ranges unmapped but not yet
/// invalidated in the IOTLB, each with the flush count it must wait for and the page-table pages its unmap emptied.
/// </summary>
/// <remarks>Every member is called with <see cref="Lock"/> held.</remarks>
internal sealed class IovaFlushQueue
{
    private readonly Entry[] _entries;
    private readonly int _mask;
    private int _head;
    private int _tail;

    /// <param name="size">Ring size, a power of two; one slot stays empty, as in Linux.</param>
    public IovaFlushQueue(int size)
    {
        _entries = new Entry[size];
        for (int i = 0; i < size; i++)
        {
            _entries[i] = new Entry();
        }

        _mask = size - 1;
    }

    public Lock Lock { get; } = new();

    /// <summary>Linux <c>fq_full</c>.</summary>
    public bool IsFull => ((_tail + 1) & _mask) == _head;

    public int Count => (_tail - _head) & _mask;

    /// <summary>Linux <c>fq_ring_add</c>: the slot for a new range.</summary>
    public Entry Add(ulong pfn, ulong pages, long counter)
    {
        Entry entry = _entries[_tail];
        entry.Pfn = pfn;
        entry.Pages = pages;
        entry.Counter = counter;
        _tail = (_tail + 1) & _mask;
        return entry;
    }

    /// <summary>The oldest entry, or null when empty.</summary>
    public Entry? Peek() => _head == _tail ? null : _entries[_head];

    public void RemoveHead() => _head = (_head + 1) & _mask;

    internal sealed class Entry
    {
        public ulong Pfn { get; set; }

        public ulong Pages { get; set; }

        public long Counter { get; set; }

        /// <summary>Page-table pages to free with the range (kept and reused, so a steady state allocates nothing).</summary>
        public List<ulong> Freelist { get; } = new();
    }
}
