using System;

namespace P2pEmu.Iommu.IovaAllocator;

/// <summary>Construction options of an <see cref="IovaDomain"/>; every property has a Linux-like default.</summary>
public sealed class IovaDomainOptions
{
    /// <summary>
    /// Number of modelled CPUs, each with its own rcache magazines (Linux: possible CPUs). Defaults to
    /// <see cref="Environment.ProcessorCount"/>. It is also the depot trim threshold (Linux: online CPUs).
    /// </summary>
    public int CpuCount { get; init; } = Environment.ProcessorCount;

    /// <summary>Magazine size and depot policy; defaults to <see cref="IovaMagazineModel.Unbounded127"/>.</summary>
    public IovaMagazineModel MagazineModel { get; init; } = IovaMagazineModel.Unbounded127;

    /// <summary>
    /// When set (Linux: <c>IOVA_DEPOT_DELAY</c>, 100 ms), pushing a magazine to a depot arms a one-shot timer for
    /// that size class which frees one magazine when the depot holds more than <see cref="CpuCount"/> and re-arms
    /// itself while it finds work, as the kernel's delayed worker does. Null (the default) leaves trimming to explicit
    /// <see cref="IovaDomain.TrimDepot"/> calls, which keeps tests deterministic. Ignored by
    /// <see cref="IovaMagazineModel.Capped128"/>.
    /// </summary>
    public TimeSpan? DepotTrimDelay { get; init; }

    /// <summary>
    /// Whether <see cref="IovaDomain.FreeIovaFast(ulong, ulong, int)"/> checks that the pfn starts a live range of the
    /// same size class and throws otherwise. Linux trusts the caller; a bad free there corrupts the cache silently.
    /// The check takes no lock (it reads an index of the tree's ranges by first pfn, kept beside the tree) and costs
    /// one or two probes of a hash table. Defaults to true.
    /// </summary>
    public bool VerifyFastFrees { get; init; } = true;
}
