namespace P2pEmu.Iommu.Hardware;

/// <summary>How <see cref="IommuGroups"/> forms groups.</summary>
public enum IommuGroupPolicy
{
    /// <summary>
    /// Exactly what the kernel computes (drivers/iommu/iommu.c <c>pci_device_group</c> as of v6.19): the ACS path
    /// walk upward with <see cref="AcsIsolation.RequiredFlags"/>, plus non-isolated functions of a multi-function
    /// device. Known kernel hole, kept for fidelity: ACS only controls egress, so a device behind a switch downstream
    /// port without ACS can reach a sibling port's device that has its own group (fixed by the 2025 series
    /// "Fix incorrect iommu_groups with PCIe ACS").
    /// </summary>
    Linux,

    /// <summary>
    /// The <see cref="Linux"/> groups, merged wherever the fabric's own routing delivers a request from a function in
    /// one group to a BAR of a function in another without passing the root complex (and so the IOMMU). Every
    /// pair of functions that can reach each other's memory without the IOMMU then shares a group, in the current
    /// configuration (ACS control, bus mastering, BARs).
    /// </summary>
    WidenedByReachability,
}
