using System;

namespace P2pEmu.Iommu.Hardware;

/// <summary>
/// Linux <c>struct iommu_iotlb_gather</c>: the IOVA range that <see cref="IommuDomain.UnmapFast"/> calls cleared and
/// that one <see cref="IommuDomain.IotlbSync"/> then invalidates. Empty when <see cref="End"/> is not above <see cref="Start"/>.
/// </summary>
public struct IommuIotlbGather
{
    private bool _used;

    /// <summary>First IOVA gathered.</summary>
    public ulong Start { get; private set; }

    /// <summary>One past the last IOVA gathered.</summary>
    public ulong End { get; private set; }

    /// <summary>Widens the range to cover [<paramref name="first"/>, <paramref name="end"/>).</summary>
    public void Add(ulong first, ulong end)
    {
        Start = _used ? Math.Min(Start, first) : first;
        End = _used ? Math.Max(End, end) : end;
        _used = true;
    }
}
