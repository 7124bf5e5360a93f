namespace P2pEmu.Iommu.IovaAllocator;

/// <summary>
/// One node of <see cref="IovaTree"/>: Linux's <c>struct iova</c> (an inclusive pfn range) with its red-black links
/// held as indices into the tree's node array, so the tree allocates nothing per node once its array has grown.
/// </summary>
internal struct IovaNode
{
    /// <summary>First pfn of the range; the tree's key.</summary>
    public ulong PfnLo;

    /// <summary>Last pfn of the range (inclusive).</summary>
    public ulong PfnHi;

    /// <summary>Left child, or <see cref="IovaTree.Nil"/>; on the free list, the next free slot.</summary>
    public int Left;

    public int Right;

    public int Parent;

    public bool IsRed;
}
