using System;

namespace P2pEmu.Iommu.IovaAllocator;

/// <summary>
/// The ordered set of IOVA ranges of one domain (Linux: the <c>rbroot</c> of <c>struct iova_domain</c>): a red-black
/// tree keyed by <see cref="IovaNode.PfnLo"/>, with parent links so that <see cref="Prev"/> and <see cref="Next"/> step
/// in O(1) amortised time as the allocator's top-down walk needs. Nodes live in one array and are named by index;
/// index <see cref="Nil"/> (0) is the shared black sentinel. Deletion relinks nodes rather than copying keys, so an
/// index stays valid until that node is erased: the domain's cached nodes rely on this.
/// </summary>
/// <remarks>
/// Not thread-safe: <see cref="IovaDomain"/> calls it only while holding its tree lock. A <c>ref</c> to a node is
/// invalidated by <see cref="Allocate"/>, which may grow the array.
/// </remarks>
internal sealed class IovaTree
{
    /// <summary>The sentinel index: a black leaf, and "no node".</summary>
    public const int Nil = 0;

    private const int InitialCapacity = 64;

    private IovaNode[] _nodes = new IovaNode[InitialCapacity];
    private int _root = Nil;
    private int _highWater = 1;
    private int _freeHead = Nil;

    /// <summary>Number of nodes in the tree.</summary>
    public int Count { get; private set; }

    public int Root => _root;

    /// <summary>The node with index <paramref name="index"/>; valid until the next <see cref="Allocate"/>.</summary>
    public ref IovaNode this[int index] => ref _nodes[index];

    /// <summary>Takes a free slot (growing the array when none is left) and sets its range. Not yet linked.</summary>
    public int Allocate(ulong pfnLo, ulong pfnHi)
    {
        int index;
        if (_freeHead != Nil)
        {
            index = _freeHead;
            _freeHead = _nodes[index].Left;
        }
        else
        {
            if (_highWater == _nodes.Length)
            {
                Array.Resize(ref _nodes, _nodes.Length * 2);
            }

            index = _highWater++;
        }

        _nodes[index] = new IovaNode { PfnLo = pfnLo, PfnHi = pfnHi };
        return index;
    }

    /// <summary>Returns an erased node's slot to the free list.</summary>
    public void Release(int index)
    {
        _nodes[index] = new IovaNode { Left = _freeHead };
        _freeHead = index;
    }

    /// <summary>
    /// Links <paramref name="node"/> into the tree, descending from <paramref name="start"/> instead of the root when
    /// it is not <see cref="Nil"/> (Linux <c>iova_insert_rbtree</c> with a start node). The start must be an ancestor
    /// of the insertion point, which holds for the node just above the new range in key order.
    /// </summary>
    /// <exception cref="InvalidOperationException">A node with the same <see cref="IovaNode.PfnLo"/> exists.</exception>
    public void Insert(int node, int start)
    {
        IovaNode[] n = _nodes;
        ulong key = n[node].PfnLo;
        int parent = Nil;
        int x = start != Nil ? start : _root;
        bool left = false;
        while (x != Nil)
        {
            parent = x;
            if (key < n[x].PfnLo)
            {
                x = n[x].Left;
                left = true;
            }
            else if (key > n[x].PfnLo)
            {
                x = n[x].Right;
                left = false;
            }
            else
            {
                throw new InvalidOperationException($"IOVA tree already holds a range starting at pfn 0x{key:x}.");
            }
        }

        n[node].Parent = parent;
        n[node].Left = Nil;
        n[node].Right = Nil;
        n[node].IsRed = true;
        if (parent == Nil)
        {
            _root = node;
        }
        else if (left)
        {
            n[parent].Left = node;
        }
        else
        {
            n[parent].Right = node;
        }

        Count++;
        InsertFixup(node);
    }

    /// <summary>Unlinks <paramref name="z"/>; every other node keeps its index. The slot is not released.</summary>
    public void Erase(int z)
    {
        IovaNode[] n = _nodes;
        int y = z;
        bool yWasRed = n[y].IsRed;
        int x;
        if (n[z].Left == Nil)
        {
            x = n[z].Right;
            Transplant(z, x);
        }
        else if (n[z].Right == Nil)
        {
            x = n[z].Left;
            Transplant(z, x);
        }
        else
        {
            y = Minimum(n[z].Right);
            yWasRed = n[y].IsRed;
            x = n[y].Right;
            if (n[y].Parent == z)
            {
                n[x].Parent = y; // x may be Nil: the fixup climbs from the sentinel's parent
            }
            else
            {
                Transplant(y, x);
                n[y].Right = n[z].Right;
                n[n[y].Right].Parent = y;
            }

            Transplant(z, y);
            n[y].Left = n[z].Left;
            n[n[y].Left].Parent = y;
            n[y].IsRed = n[z].IsRed;
        }

        Count--;
        if (!yWasRed)
        {
            DeleteFixup(x);
        }

        n[Nil] = default;
    }

    /// <summary>The node whose range contains <paramref name="pfn"/>, or <see cref="Nil"/> (Linux <c>private_find_iova</c>).</summary>
    public int Find(ulong pfn)
    {
        IovaNode[] n = _nodes;
        int x = _root;
        while (x != Nil)
        {
            if (pfn < n[x].PfnLo)
            {
                x = n[x].Left;
            }
            else if (pfn > n[x].PfnHi)
            {
                x = n[x].Right;
            }
            else
            {
                return x;
            }
        }

        return Nil;
    }

    /// <summary>
    /// The lowest node whose <see cref="IovaNode.PfnHi"/> is at least <paramref name="pfn"/>: the first node that
    /// overlaps or lies above <paramref name="pfn"/>. Ranges never overlap, so PfnHi grows with PfnLo.
    /// </summary>
    public int LowerBoundByHi(ulong pfn)
    {
        IovaNode[] n = _nodes;
        int x = _root;
        int found = Nil;
        while (x != Nil)
        {
            if (n[x].PfnHi >= pfn)
            {
                found = x;
                x = n[x].Left;
            }
            else
            {
                x = n[x].Right;
            }
        }

        return found;
    }

    /// <summary>The lowest node, or <see cref="Nil"/>.</summary>
    public int First() => _root == Nil ? Nil : Minimum(_root);

    /// <summary>The in-order predecessor of <paramref name="x"/>, or <see cref="Nil"/> (Linux <c>rb_prev</c>).</summary>
    public int Prev(int x)
    {
        IovaNode[] n = _nodes;
        if (n[x].Left != Nil)
        {
            return Maximum(n[x].Left);
        }

        int y = n[x].Parent;
        while (y != Nil && x == n[y].Left)
        {
            x = y;
            y = n[y].Parent;
        }

        return y;
    }

    /// <summary>The in-order successor of <paramref name="x"/>, or <see cref="Nil"/> (Linux <c>rb_next</c>).</summary>
    public int Next(int x)
    {
        IovaNode[] n = _nodes;
        if (n[x].Right != Nil)
        {
            return Minimum(n[x].Right);
        }

        int y = n[x].Parent;
        while (y != Nil && x == n[y].Right)
        {
            x = y;
            y = n[y].Parent;
        }

        return y;
    }

    /// <summary>
    /// Checks the red-black and ordering invariants (tests only): the root and sentinel are black, no red node has a
    /// red child, every root-to-leaf path has the same black height, parent links agree, ranges are ordered, well
    /// formed and disjoint, and <see cref="Count"/> matches. Returns null when they hold, else what is wrong.
    /// </summary>
    public string? Validate()
    {
        IovaNode[] n = _nodes;
        if (n[Nil].IsRed || n[_root].IsRed || (_root != Nil && n[_root].Parent != Nil))
        {
            return "root or sentinel is red, or the root has a parent";
        }

        int count = 0;
        int blackHeight = -1;
        string? error = null;
        Check(_root, 0);
        if (error is not null)
        {
            return error;
        }

        if (count != Count)
        {
            return $"Count is {Count} but the tree holds {count} nodes";
        }

        int previous = Nil;
        for (int x = First(); x != Nil; x = Next(x))
        {
            if (n[x].PfnLo > n[x].PfnHi)
            {
                return $"node [0x{n[x].PfnLo:x}-0x{n[x].PfnHi:x}] is inverted";
            }

            if (previous != Nil && n[previous].PfnHi >= n[x].PfnLo)
            {
                return $"[0x{n[previous].PfnLo:x}-0x{n[previous].PfnHi:x}] overlaps or is not below [0x{n[x].PfnLo:x}-0x{n[x].PfnHi:x}]";
            }

            previous = x;
        }

        return null;

        void Check(int x, int blacks)
        {
            if (error is not null)
            {
                return;
            }

            if (x == Nil)
            {
                if (blackHeight < 0)
                {
                    blackHeight = blacks;
                }
                else if (blackHeight != blacks)
                {
                    error = "black heights differ";
                }

                return;
            }

            count++;
            IovaNode node = n[x];
            if (node.IsRed && (n[node.Left].IsRed || n[node.Right].IsRed))
            {
                error = "a red node has a red child";
                return;
            }

            if ((node.Left != Nil && n[node.Left].Parent != x) || (node.Right != Nil && n[node.Right].Parent != x))
            {
                error = "a parent link is wrong";
                return;
            }

            if ((node.Left != Nil && n[node.Left].PfnLo >= node.PfnLo) || (node.Right != Nil && n[node.Right].PfnLo <= node.PfnLo))
            {
                error = "keys are out of order";
                return;
            }

            int next = blacks + (node.IsRed ? 0 : 1);
            Check(node.Left, next);
            Check(node.Right, next);
        }
    }

    private int Minimum(int x)
    {
        IovaNode[] n = _nodes;
        while (n[x].Left != Nil)
        {
            x = n[x].Left;
        }

        return x;
    }

    private int Maximum(int x)
    {
        IovaNode[] n = _nodes;
        while (n[x].Right != Nil)
        {
            x = n[x].Right;
        }

        return x;
    }

    private void Transplant(int u, int v)
    {
        IovaNode[] n = _nodes;
        int up = n[u].Parent;
        if (up == Nil)
        {
            _root = v;
        }
        else if (u == n[up].Left)
        {
            n[up].Left = v;
        }
        else
        {
            n[up].Right = v;
        }

        n[v].Parent = up;
    }

    private void RotateLeft(int x)
    {
        IovaNode[] n = _nodes;
        int y = n[x].Right;
        n[x].Right = n[y].Left;
        if (n[y].Left != Nil)
        {
            n[n[y].Left].Parent = x;
        }

        ReplaceChild(x, y);
        n[y].Left = x;
        n[x].Parent = y;
    }

    private void RotateRight(int x)
    {
        IovaNode[] n = _nodes;
        int y = n[x].Left;
        n[x].Left = n[y].Right;
        if (n[y].Right != Nil)
        {
            n[n[y].Right].Parent = x;
        }

        ReplaceChild(x, y);
        n[y].Right = x;
        n[x].Parent = y;
    }

    /// <summary>Puts <paramref name="y"/> where <paramref name="x"/> hangs from its parent.</summary>
    private void ReplaceChild(int x, int y)
    {
        IovaNode[] n = _nodes;
        int xp = n[x].Parent;
        n[y].Parent = xp;
        if (xp == Nil)
        {
            _root = y;
        }
        else if (x == n[xp].Left)
        {
            n[xp].Left = y;
        }
        else
        {
            n[xp].Right = y;
        }
    }

    private void InsertFixup(int z)
    {
        IovaNode[] n = _nodes;
        while (n[n[z].Parent].IsRed)
        {
            int p = n[z].Parent;
            int g = n[p].Parent;
            if (p == n[g].Left)
            {
                int uncle = n[g].Right;
                if (n[uncle].IsRed)
                {
                    n[p].IsRed = false;
                    n[uncle].IsRed = false;
                    n[g].IsRed = true;
                    z = g;
                    continue;
                }

                if (z == n[p].Right)
                {
                    z = p;
                    RotateLeft(z);
                    p = n[z].Parent;
                }

                n[p].IsRed = false;
                n[g].IsRed = true;
                RotateRight(g);
            }
            else
            {
                int uncle = n[g].Left;
                if (n[uncle].IsRed)
                {
                    n[p].IsRed = false;
                    n[uncle].IsRed = false;
                    n[g].IsRed = true;
                    z = g;
                    continue;
                }

                if (z == n[p].Left)
                {
                    z = p;
                    RotateRight(z);
                    p = n[z].Parent;
                }

                n[p].IsRed = false;
                n[g].IsRed = true;
                RotateLeft(g);
            }
        }

        n[_root].IsRed = false;
    }

    private void DeleteFixup(int x)
    {
        IovaNode[] n = _nodes;
        while (x != _root && !n[x].IsRed)
        {
            int p = n[x].Parent;
            if (x == n[p].Left)
            {
                int w = n[p].Right;
                if (n[w].IsRed)
                {
                    n[w].IsRed = false;
                    n[p].IsRed = true;
                    RotateLeft(p);
                    w = n[p].Right;
                }

                if (!n[n[w].Left].IsRed && !n[n[w].Right].IsRed)
                {
                    n[w].IsRed = true;
                    x = p;
                }
                else
                {
                    if (!n[n[w].Right].IsRed)
                    {
                        n[n[w].Left].IsRed = false;
                        n[w].IsRed = true;
                        RotateRight(w);
                        w = n[p].Right;
                    }

                    n[w].IsRed = n[p].IsRed;
                    n[p].IsRed = false;
                    n[n[w].Right].IsRed = false;
                    RotateLeft(p);
                    x = _root;
                }
            }
            else
            {
                int w = n[p].Left;
                if (n[w].IsRed)
                {
                    n[w].IsRed = false;
                    n[p].IsRed = true;
                    RotateRight(p);
                    w = n[p].Left;
                }

                if (!n[n[w].Right].IsRed && !n[n[w].Left].IsRed)
                {
                    n[w].IsRed = true;
                    x = p;
                }
                else
                {
                    if (!n[n[w].Left].IsRed)
                    {
                        n[n[w].Right].IsRed = false;
                        n[w].IsRed = true;
                        RotateLeft(w);
                        w = n[p].Left;
                    }

                    n[w].IsRed = n[p].IsRed;
                    n[p].IsRed = false;
                    n[n[w].Left].IsRed = false;
                    RotateRight(p);
                    x = _root;
                }
            }
        }

        n[x].IsRed = false;
    }
}
