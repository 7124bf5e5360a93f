using System;
using System.Threading;

namespace P2pEmu.Iommu.IovaAllocator;

/// <summary>
/// The tree's ranges (the anchor aside) by first pfn, in an open-addressing hash table that readers search without the
/// tree lock: what lets a fast free be checked (<see cref="IovaDomainOptions.VerifyFastFrees"/>) without the lock Linux
/// does not take there, and in one or two probes instead of a walk down the tree.
/// </summary>
/// <remarks>
/// <para>
/// One writer at a time: every change is made under the domain's tree lock, beside the tree change it mirrors. Each
/// slot is sequence-locked (odd while it is written), so a reader never takes a pfn from one range and a size from
/// another. A removal leaves a tombstone, so a probe chain never gets a hole while readers walk it; tombstones go
/// when the table is rebuilt, into a new array published with a release store.
/// </para>
/// <para>
/// A reader sees every range inserted before the caller got it and not yet removed, which is what a check of a live
/// range needs: the range it asks about cannot be inserted or removed while its owner frees it. A free racing with
/// another free or removal of the same range (a caller bug) may be answered from either side of the race.
/// </para>
/// </remarks>
internal sealed class IovaLiveIndex
{
    private const int InitialCapacity = 64;

    private Slot[] _slots = new Slot[InitialCapacity];
    private int _live;
    private int _used; // live slots plus tombstones

    /// <summary>Ranges in the index.</summary>
    public int Count => _live;

    /// <summary>Adds the range starting at <paramref name="pfnLo"/>. Caller holds the tree lock; the pfn is not in the index.</summary>
    public void Add(ulong pfnLo, ulong pages)
    {
        if ((_used + 1) * 2 > _slots.Length)
        {
            Rebuild(_live * 4 >= _slots.Length ? _slots.Length * 2 : _slots.Length);
        }

        Slot[] slots = _slots;
        int mask = slots.Length - 1;
        for (int i = Home(pfnLo, mask); ; i = (i + 1) & mask)
        {
            if (slots[i].State != SlotState.Live)
            {
                if (slots[i].State == SlotState.Empty)
                {
                    _used++;
                }

                Write(ref slots[i], pfnLo, pages, SlotState.Live);
                _live++;
                return;
            }
        }
    }

    /// <summary>Removes the range starting at <paramref name="pfnLo"/>. Caller holds the tree lock; the pfn is in the index.</summary>
    public void Remove(ulong pfnLo)
    {
        Slot[] slots = _slots;
        int mask = slots.Length - 1;
        for (int i = Home(pfnLo, mask); slots[i].State != SlotState.Empty; i = (i + 1) & mask)
        {
            if (slots[i].State == SlotState.Live && slots[i].PfnLo == pfnLo)
            {
                Write(ref slots[i], 0, 0, SlotState.Tombstone);
                _live--;
                return;
            }
        }

        throw new InvalidOperationException($"The IOVA index has no range at pfn 0x{pfnLo:x}.");
    }

    /// <summary>
    /// The size in pages of the range starting at <paramref name="pfnLo"/>, or 0 when none starts there. Lock-free;
    /// allocates nothing.
    /// </summary>
    public ulong PagesAt(ulong pfnLo)
    {
        Slot[] slots = Volatile.Read(ref _slots);
        int mask = slots.Length - 1;
        for (int i = Home(pfnLo, mask); ; i = (i + 1) & mask)
        {
            ref Slot slot = ref slots[i];
            while (true)
            {
                int before = Volatile.Read(ref slot.Sequence);
                int state = Volatile.Read(ref slot.State);
                ulong pfn = Volatile.Read(ref slot.PfnLo);
                ulong pages = Volatile.Read(ref slot.Pages);
                if ((before & 1) == 0 && Volatile.Read(ref slot.Sequence) == before)
                {
                    if (state == SlotState.Empty)
                    {
                        return 0;
                    }

                    if (state == SlotState.Live && pfn == pfnLo)
                    {
                        return pages;
                    }

                    break;
                }

                Thread.SpinWait(1);
            }
        }
    }

    // Fibonacci hashing: neighbouring pfns (the allocator hands out neighbours) land in different slots.
    private static int Home(ulong pfn, int mask) => unchecked((int)((pfn * 0x9E37_79B9_7F4A_7C15UL) >> 32)) & mask;

    /// <summary>Rewrites a slot under its sequence lock, every store a release (as <c>IoTlbEntry</c>'s writer does).</summary>
    private static void Write(ref Slot slot, ulong pfnLo, ulong pages, int state)
    {
        int sequence = slot.Sequence;
        Volatile.Write(ref slot.Sequence, unchecked(sequence + 1));
        Volatile.Write(ref slot.PfnLo, pfnLo);
        Volatile.Write(ref slot.Pages, pages);
        Volatile.Write(ref slot.State, state);
        Volatile.Write(ref slot.Sequence, unchecked(sequence + 2));
    }

    /// <summary>Copies the live ranges into a new array of <paramref name="capacity"/> slots and publishes it.</summary>
    private void Rebuild(int capacity)
    {
        var fresh = new Slot[capacity];
        int mask = capacity - 1;
        foreach (Slot old in _slots)
        {
            if (old.State == SlotState.Live)
            {
                int i = Home(old.PfnLo, mask);
                while (fresh[i].State != SlotState.Empty)
                {
                    i = (i + 1) & mask;
                }

                fresh[i] = old;
                fresh[i].Sequence = 0;
            }
        }

        _used = _live;
        Volatile.Write(ref _slots, fresh);
    }

    private static class SlotState
    {
        public const int Empty = 0;
        public const int Live = 1;
        public const int Tombstone = 2;
    }

    private struct Slot
    {
        public ulong PfnLo;
        public ulong Pages;
        public int Sequence;
        public int State;
    }
}
