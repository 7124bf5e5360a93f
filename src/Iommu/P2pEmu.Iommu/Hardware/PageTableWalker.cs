using System;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;

namespace P2pEmu.Iommu.Hardware;

/// <summary>
/// The IOMMU's page-table walker: one loop from the root table down, reading each entry over the bus from the
/// root complex (<see cref="PcieFabric.TryHostRead64"/>), so page tables may live in host RAM or in a BAR and an
/// entry that nothing claims is a fault, as on real hardware (STYLE R8).
/// </summary>
/// <remarks>
/// The walker keeps no state and caches nothing (the IOTLB and its paging-structure cache are separate); it may run on
/// any thread.
/// </remarks>
public sealed class PageTableWalker
{
    private readonly PcieFabric _fabric;

    /// <summary>Creates a walker that reads page tables through <paramref name="fabric"/>'s root complex.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="fabric"/> is null.</exception>
    public PageTableWalker(PcieFabric fabric)
    {
        ArgumentNullException.ThrowIfNull(fabric);
        _fabric = fabric;
    }

    /// <summary>Walks the tables rooted at <paramref name="rootTable"/> for <paramref name="iova"/>.</summary>
    /// <param name="required">The access to allow (<see cref="IommuProt.None"/> for a host-side lookup that ignores permissions).</param>
    /// <returns>True with the leaf; false with the fault reason and level. Allocates nothing.</returns>
    public bool TryWalk(BusAddress rootTable, Iova iova, IommuProt required, out PageWalkResult result) =>
        Walk(rootTable.Value, PageTableGeometry.Levels, IommuProt.ReadWrite, iova.Value, required, out result);

    /// <summary>
    /// The last step of a walk whose upper levels a paging-structure cache answered: reads <paramref name="iova"/>'s
    /// entry in the 4 KiB leaf table <paramref name="leafTable"/>, under the permissions <paramref name="tablePermissions"/>
    /// the tables above allow.
    /// </summary>
    /// <returns>As <see cref="TryWalk"/>, with faults at level 1.</returns>
    public bool TryWalkLeafTable(BusAddress leafTable, IommuProt tablePermissions, Iova iova, IommuProt required, out PageWalkResult result) =>
        Walk(leafTable.Value, 1, tablePermissions, iova.Value, required, out result);

    private bool Walk(ulong table, int topLevel, IommuProt allowed, ulong va, IommuProt required, out PageWalkResult result)
    {
        if (va > PageTableGeometry.MaxIova)
        {
            result = new PageWalkResult { Fault = IommuFaultReason.AddressTooLarge, Level = 0 };
            return false;
        }

        for (int level = topLevel; level >= 1; level--)
        {
            ulong entryAddress = table + (PageTableGeometry.EntryIndex(va, level) * PageTableGeometry.EntryBytes);
            if (!_fabric.TryHostRead64(entryAddress, out ulong raw))
            {
                return Fail(IommuFaultReason.PageTableUnreadable, level, out result);
            }

            var pte = new PageTableEntry(raw);
            if (!pte.IsPresent)
            {
                return Fail(IommuFaultReason.NotPresent, level, out result);
            }

            if (!pte.HasValidFormatAt(level))
            {
                return Fail(IommuFaultReason.ReservedBitsSet, level, out result);
            }

            IommuProt above = allowed;
            allowed &= pte.Permissions;
            if ((required & ~allowed) != 0)
            {
                return Fail(IommuFaultReason.PermissionDenied, level, out result);
            }

            if (pte.IsLeafAt(level))
            {
                ulong pageMask = PageTableGeometry.LevelSize(level) - 1;
                result = new PageWalkResult
                {
                    Level = level,
                    PageAddress = new BusAddress(pte.Address),
                    PageIova = new Iova(va & ~pageMask),
                    Permissions = allowed,
                    TablePermissions = above,
                    LeafTable = new BusAddress(table),
                };
                return true;
            }

            table = pte.Address;
        }

        // Unreachable: level 1 entries are always leaves.
        return Fail(IommuFaultReason.ReservedBitsSet, 1, out result);
    }

    private static bool Fail(IommuFaultReason reason, int level, out PageWalkResult result)
    {
        result = new PageWalkResult { Fault = reason, Level = level };
        return false;
    }
}
