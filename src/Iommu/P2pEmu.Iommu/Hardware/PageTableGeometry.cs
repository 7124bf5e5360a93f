namespace P2pEmu.Iommu.Hardware;

/// <summary>
/// The shape of an IOMMU domain's page tables: 4 levels of 512 eight-byte entries translating a 48-bit IOVA,
/// 4 KiB pages with 2 MiB and 1 GiB large pages, as x86 second-level tables (Intel VT-d 4-level, AMD-Vi v1).
/// </summary>
/// <remarks>
/// Levels are numbered as the fault log reports them: 4 is the root table (IOVA bits 47:39), 3 indexes bits 38:30
/// and may hold a 1 GiB leaf, 2 indexes bits 29:21 and may hold a 2 MiB leaf, 1 indexes bits 20:12 and holds
/// 4 KiB leaves. The entry format is <see cref="PageTableEntry"/>.
/// </remarks>
public static class PageTableGeometry
{
    /// <summary>log2 of the smallest page.</summary>
    public const int PageShift = 12;

    /// <summary>The smallest page: 4 KiB.</summary>
    public const ulong PageSize = 1UL << PageShift;

    /// <summary>Mask of the offset inside a 4 KiB page.</summary>
    public const ulong PageMask = PageSize - 1;

    /// <summary>IOVA bits each level indexes.</summary>
    public const int LevelBits = 9;

    /// <summary>Entries in one table (one 4 KiB page of 8-byte entries).</summary>
    public const int EntriesPerTable = 1 << LevelBits;

    /// <summary>Mask of one level's index.</summary>
    public const ulong EntryIndexMask = EntriesPerTable - 1;

    /// <summary>Bytes of one entry.</summary>
    public const int EntryBytes = sizeof(ulong);

    /// <summary>Number of levels; the root table is level <see cref="Levels"/>.</summary>
    public const int Levels = 4;

    /// <summary>Width of the input address (IOVA).</summary>
    public const int IovaBits = PageShift + (Levels * LevelBits);

    /// <summary>The highest IOVA a domain translates (the aperture end).</summary>
    public const ulong MaxIova = (1UL << IovaBits) - 1;

    /// <summary>The highest level that may hold a leaf (1 GiB pages).</summary>
    public const int MaxLeafLevel = 3;

    /// <summary>Page sizes the tables support, as Linux's <c>pgsize_bitmap</c>: 4 KiB | 2 MiB | 1 GiB.</summary>
    public const ulong PageSizeBitmap = (1UL << 12) | (1UL << 21) | (1UL << 30);

    /// <summary>log2 of the bytes one entry at <paramref name="level"/> covers (12, 21, 30, 39).</summary>
    public static int LevelShift(int level) => PageShift + ((level - 1) * LevelBits);

    /// <summary>Bytes one entry at <paramref name="level"/> covers.</summary>
    public static ulong LevelSize(int level) => 1UL << LevelShift(level);

    /// <summary>The index of <paramref name="iova"/>'s entry in a table at <paramref name="level"/>.</summary>
    public static ulong EntryIndex(ulong iova, int level) => (iova >> LevelShift(level)) & EntryIndexMask;
}
