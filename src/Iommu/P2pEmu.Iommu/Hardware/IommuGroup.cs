using System.Collections.Generic;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Iommu.Hardware;

/// <summary>
/// An IOMMU group (Linux <c>struct iommu_group</c>): the smallest set of functions the IOMMU can isolate from the
/// rest. Members are in kernel probe order.
/// </summary>
public sealed class IommuGroup
{
    private readonly List<PciFunction> _members = new();

    internal IommuGroup(int id)
    {
        Id = id;
    }

    /// <summary>The group's number, as <c>/sys/kernel/iommu_groups/&lt;id&gt;</c>; numbered from 0 in probe order.</summary>
    public int Id { get; }

    /// <summary>The functions in the group.</summary>
    public IReadOnlyList<PciFunction> Members => _members;

    /// <summary>"IOMMU group 3: a, b".</summary>
    public override string ToString() => $"IOMMU group {Id}: {string.Join(", ", _members)}";

    internal void Add(PciFunction function) => _members.Add(function);
}
