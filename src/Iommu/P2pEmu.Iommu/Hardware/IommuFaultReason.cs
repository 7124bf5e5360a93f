namespace P2pEmu.Iommu.Hardware;

/// <summary>Why the IOMMU refused a translation (VT-d "fault reason", in P2pEmu's words).</summary>
public enum IommuFaultReason : byte
{
    /// <summary>No fault (a successful walk).</summary>
    None,

    /// <summary>An entry on the walk has its P bit clear: the IOVA is not mapped in the requester's domain.</summary>
    NotPresent,

    /// <summary>The leaf, or a table above it, does not allow the access (a write to a read-only mapping, …).</summary>
    PermissionDenied,

    /// <summary>A page-table entry could not be read: nothing claims its bus address.</summary>
    PageTableUnreadable,

    /// <summary>The requester ID is not attached to any domain while translation is on.</summary>
    NoDomain,

    /// <summary>The IOVA has bits set above the domain's 48-bit input width.</summary>
    AddressTooLarge,

    /// <summary>An entry has a reserved bit set (see <see cref="PageTableEntry"/>).</summary>
    ReservedBitsSet,
}
