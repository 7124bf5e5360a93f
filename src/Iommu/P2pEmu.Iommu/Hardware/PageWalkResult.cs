using P2pEmu.Emulator.Addressing;

namespace P2pEmu.Iommu.Hardware;

/// <summary>
/// The outcome of one page-table walk: on success the leaf (its level, page and effective permissions, and where
/// it sits); on failure the reason and the level whose entry failed.
/// </summary>
public readonly struct PageWalkResult
{
    /// <summary><see cref="IommuFaultReason.None"/> when the walk found a usable leaf.</summary>
    public IommuFaultReason Fault { get; init; }

    /// <summary>The leaf's level on success (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB); the failing entry's level on a fault.</summary>
    public int Level { get; init; }

    /// <summary>Bus address of the first byte of the leaf page.</summary>
    public BusAddress PageAddress { get; init; }

    /// <summary>The IOVA of the first byte of the leaf page.</summary>
    public Iova PageIova { get; init; }

    /// <summary>The permissions the walk allows: the leaf's R/W bits ANDed with every table's above it.</summary>
    public IommuProt Permissions { get; init; }

    /// <summary>The permissions the tables above the leaf allow (what a neighbouring leaf in the same table inherits).</summary>
    public IommuProt TablePermissions { get; init; }

    /// <summary>Bus address of the table that holds the leaf entry.</summary>
    public BusAddress LeafTable { get; init; }

    /// <summary>True when the walk found a leaf that allows the requested access.</summary>
    public bool IsSuccess => Fault == IommuFaultReason.None;

    /// <summary>Bytes the leaf maps.</summary>
    public ulong PageSizeBytes => PageTableGeometry.LevelSize(Level);

    /// <summary>The bus address <paramref name="iova"/> translates to (it must lie in the leaf page).</summary>
    public BusAddress Translate(Iova iova) => new(PageAddress.Value + (iova.Value - PageIova.Value));
}
