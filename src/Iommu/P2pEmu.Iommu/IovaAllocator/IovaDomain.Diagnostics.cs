using System.Collections.Generic;

namespace P2pEmu.Iommu.IovaAllocator;

/// <content>Internal views for tests: walk counters, cached nodes, cache occupancy and a consistency check.</content>
public sealed partial class IovaDomain
{
    /// <summary>Calls of the tree allocator (<c>__alloc_and_insert_iova_range</c>), including fail-fast ones.</summary>
    internal long TreeAllocations
    {
        get
        {
            lock (_treeLock)
            {
                return _treeAllocations;
            }
        }
    }

    /// <summary>Nodes visited by tree allocation walks: 0 for a fail-fast, at least 1 for any walk.</summary>
    internal long TreeWalkSteps
    {
        get
        {
            lock (_treeLock)
            {
                return _treeWalkSteps;
            }
        }
    }

    /// <summary>Linux <c>max32_alloc_size</c>.</summary>
    internal ulong Max32AllocSize
    {
        get
        {
            lock (_treeLock)
            {
                return _max32AllocSize;
            }
        }
    }

    /// <summary>The cached node for 32-bit limits (the anchor's range when it is the anchor).</summary>
    internal IovaRange Cached32Node
    {
        get
        {
            lock (_treeLock)
            {
                return RangeOf(_cached32Node);
            }
        }
    }

    /// <summary>The cached node for limits above 4 GiB.</summary>
    internal IovaRange CachedNode
    {
        get
        {
            lock (_treeLock)
            {
                return RangeOf(_cachedNode);
            }
        }
    }

    /// <summary>Every range in the tree in ascending order, without the anchor.</summary>
    internal List<IovaRange> Snapshot()
    {
        var ranges = new List<IovaRange>();
        lock (_treeLock)
        {
            for (int node = _tree.First(); node != IovaTree.Nil; node = _tree.Next(node))
            {
                if (node != _anchor)
                {
                    ranges.Add(RangeOf(node));
                }
            }
        }

        return ranges;
    }

    /// <summary>Null when the tree's invariants hold and the anchor is its last node; else what is wrong.</summary>
    internal string? Validate()
    {
        lock (_treeLock)
        {
            string? error = _tree.Validate();
            if (error is null && _tree.Next(_anchor) != IovaTree.Nil)
            {
                error = "the anchor is not the last node";
            }

            return error ?? ValidateLiveIndex();
        }
    }

    /// <summary>Null when the live index holds exactly the tree's ranges (the anchor aside). Caller holds the tree lock.</summary>
    private string? ValidateLiveIndex()
    {
        int ranges = 0;
        for (int node = _tree.First(); node != IovaTree.Nil; node = _tree.Next(node))
        {
            if (node == _anchor)
            {
                continue;
            }

            ranges++;
            IovaNode n = _tree[node];
            ulong pages = _live.PagesAt(n.PfnLo);
            if (pages != n.PfnHi - n.PfnLo + 1)
            {
                return $"the live index has {pages} pages at pfn 0x{n.PfnLo:x}, the tree {n.PfnHi - n.PfnLo + 1}";
            }
        }

        return ranges == _live.Count ? null : $"the live index holds {_live.Count} ranges, the tree {ranges}";
    }

    internal int DepotSize(int sizeClass) => _rcaches[sizeClass].DepotSize();

    internal (int Loaded, int Prev) CpuMagazineCounts(int cpu, int sizeClass) => _rcaches[sizeClass].CpuCounts(cpu);
}
