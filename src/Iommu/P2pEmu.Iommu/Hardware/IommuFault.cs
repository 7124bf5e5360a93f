using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;

namespace P2pEmu.Iommu.Hardware;

/// <summary>
/// One fault record: who asked (requester ID and PCI segment), for what (wire address and direction), why, and at
/// which page-table level the walk stopped.
/// </summary>
/// <param name="Sequence">The fault's number on its IOMMU, from 1, in the order faults happened.</param>
/// <param name="Requester">The requester ID the transaction carried.</param>
/// <param name="Segment">The PCI segment (domain) of the IOMMU's host bridge.</param>
/// <param name="Address">The address the device put on the wire (an IOVA, or a bus address that should not have come up).</param>
/// <param name="Access">Read or write.</param>
/// <param name="Reason">Why translation failed.</param>
/// <param name="Level">
/// The page-table level of the entry that failed (4 = root table … 1 = 4 KiB leaf table, see
/// <see cref="PageTableGeometry"/>); 0 when no table was consulted (<see cref="IommuFaultReason.NoDomain"/>,
/// <see cref="IommuFaultReason.AddressTooLarge"/>).
/// </param>
/// <param name="DomainId">The requester's domain (<see cref="IommuDomain.Id"/>); 0 when it has none.</param>
public readonly record struct IommuFault(
    long Sequence,
    Bdf Requester,
    int Segment,
    DmaAddress Address,
    AccessKind Access,
    IommuFaultReason Reason,
    int Level,
    int DomainId)
{
    /// <summary>As a kernel log line would put it.</summary>
    public override string ToString() =>
        $"DMAR: [{Access}] Request device [{Segment:x4}:{Requester}] fault addr {Address} [fault reason {Reason}, level {Level}, domain {DomainId}]";
}
