using System;
using System.Collections.Generic;
using System.Linq;
using P2pEmu.Iommu.IovaAllocator;
using Xunit;

namespace P2pEmu.Iommu.Tests.IovaAllocator;

/// <summary>The red-black tree under the allocator, against a <see cref="SortedDictionary{TKey, TValue}"/> reference.</summary>
public sealed class IovaTreeTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RandomInsertErase_AgainstSortedDictionary_KeepsInvariantsAndOrder(int seed)
    {
        var random = new Random(seed);
        var tree = new IovaTree();
        var reference = new SortedDictionary<ulong, int>();
        for (int step = 0; step < 4000; step++)
        {
            if (reference.Count == 0 || random.Next(3) != 0)
            {
                ulong lo = (ulong)random.Next(0, 100_000) * 2; // even keys, one page each: never overlapping
                if (reference.ContainsKey(lo))
                {
                    continue;
                }

                int node = tree.Allocate(lo, lo);
                tree.Insert(node, IovaTree.Nil);
                reference.Add(lo, node);
            }
            else
            {
                ulong lo = reference.Keys.ElementAt(random.Next(reference.Count));
                int node = reference[lo];
                tree.Erase(node);
                tree.Release(node);
                reference.Remove(lo);
            }

            if (step % 97 == 0)
            {
                Assert.Null(tree.Validate());
            }
        }

        Assert.Null(tree.Validate());
        Assert.Equal(reference.Count, tree.Count);
        var inOrder = new List<ulong>();
        for (int x = tree.First(); x != IovaTree.Nil; x = tree.Next(x))
        {
            inOrder.Add(tree[x].PfnLo);
            Assert.Equal(reference[tree[x].PfnLo], x); // erasing relinks nodes; it never moves another node's key
        }

        Assert.Equal(reference.Keys, inOrder);
    }

    [Fact]
    public void FindPrevAndLowerBound_OnRanges_MatchALinearScan()
    {
        var tree = new IovaTree();
        var ranges = new List<(ulong Lo, ulong Hi, int Node)>();
        for (ulong lo = 10; lo < 1000; lo += 10)
        {
            int node = tree.Allocate(lo, lo + 4); // [lo, lo+4], gaps of 5
            tree.Insert(node, IovaTree.Nil);
            ranges.Add((lo, lo + 4, node));
        }

        for (ulong pfn = 0; pfn < 1010; pfn++)
        {
            int expectedFind = ranges.Where(r => pfn >= r.Lo && pfn <= r.Hi).Select(r => r.Node).DefaultIfEmpty(IovaTree.Nil).First();
            int expectedBound = ranges.Where(r => r.Hi >= pfn).Select(r => r.Node).DefaultIfEmpty(IovaTree.Nil).First();
            Assert.Equal(expectedFind, tree.Find(pfn));
            Assert.Equal(expectedBound, tree.LowerBoundByHi(pfn));
        }

        for (int i = 0; i < ranges.Count; i++)
        {
            Assert.Equal(i == 0 ? IovaTree.Nil : ranges[i - 1].Node, tree.Prev(ranges[i].Node));
            Assert.Equal(i == ranges.Count - 1 ? IovaTree.Nil : ranges[i + 1].Node, tree.Next(ranges[i].Node));
        }
    }

    [Fact]
    public void Insert_FromTheNodeAbove_PlacesTheRangeInOrder()
    {
        var tree = new IovaTree();
        var nodes = new List<int>();
        for (ulong lo = 100; lo < 3200; lo += 100)
        {
            int n = tree.Allocate(lo, lo + 9);
            tree.Insert(n, IovaTree.Nil);
            nodes.Add(n);
        }

        // Insert just below each existing node, descending from that node as the allocator does.
        foreach (int above in nodes.ToArray())
        {
            ulong lo = tree[above].PfnLo - 20;
            int n = tree.Allocate(lo, lo + 9);
            tree.Insert(n, above);
            Assert.Equal(above, tree.Next(n));
        }

        Assert.Null(tree.Validate());
        Assert.Equal(nodes.Count * 2, tree.Count);
    }

    [Fact]
    public void Insert_DuplicateStart_Throws()
    {
        var tree = new IovaTree();
        int a = tree.Allocate(5, 6);
        tree.Insert(a, IovaTree.Nil);
        int b = tree.Allocate(5, 5);

        Assert.Throws<InvalidOperationException>(() => tree.Insert(b, IovaTree.Nil));
    }
}
