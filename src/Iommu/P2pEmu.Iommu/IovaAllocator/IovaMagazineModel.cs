namespace P2pEmu.Iommu.IovaAllocator;

/// <summary>Which kernel generation's rcache magazine and depot rules an <see cref="IovaDomain"/> follows (spec §6.4).</summary>
public enum IovaMagazineModel
{
    /// <summary>
    /// Newer kernels (Robin Murphy's "make the rcache depot scale better" series): 127 pfns per magazine, an
    /// unbounded depot list per size class, trimmed back to one magazine per CPU by a delayed worker
    /// (<see cref="IovaDomain.TrimDepot"/>, or the timer of <see cref="IovaDomainOptions.DepotTrimDelay"/>). The default.
    /// </summary>
    Unbounded127 = 0,

    /// <summary>
    /// Older kernels (about v6.0): 128 pfns per magazine and at most 32 magazines in each size class's depot; when
    /// the depot is full, the magazine that would have gone there has its IOVAs freed back to the tree. No trimming.
    /// </summary>
    Capped128 = 1,
}
