using System;
using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace P2pEmu.Iommu.Hardware;

/// <summary>
/// One 8-byte page-table entry, little-endian in memory. The format is P2pEmu's own, modelled on x86:
/// <code>
///  63      52 51                          12 11   8  7  6   3  2  1  0
/// [ reserved |  address (bits 51:12)        | rsvd | PS | rsvd | W | R | P ]
/// </code>
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><b>P</b> (bit 0): present. A clear P bit ends the walk with <see cref="IommuFaultReason.NotPresent"/>.</item>
/// <item><b>R</b>, <b>W</b> (bits 1, 2): read and write permission. Permissions are the AND over every level of
/// the walk, as on x86; the host writes non-leaf entries with both bits set.</item>
/// <item><b>PS</b> (bit 7): page size. At level 3 the entry is a 1 GiB leaf, at level 2 a 2 MiB leaf; level 1
/// entries are always 4 KiB leaves. PS at level 1 or 4 is a reserved bit.</item>
/// <item><b>Address</b> (bits 51:12): the bus address of the next table or of the page. A large leaf's address
/// must be aligned to its page size; the low bits are reserved.</item>
/// </list>
/// Any reserved bit set ends the walk with <see cref="IommuFaultReason.ReservedBitsSet"/>, as VT-d reports a
/// non-zero reserved field.
/// </remarks>
[StructLayout(LayoutKind.Sequential, Size = 8)]
public readonly record struct PageTableEntry(ulong Value)
{
    /// <summary>Present.</summary>
    public const ulong PresentBit = 1UL << 0;

    /// <summary>Read permission.</summary>
    public const ulong ReadBit = 1UL << 1;

    /// <summary>Write permission.</summary>
    public const ulong WriteBit = 1UL << 2;

    /// <summary>Page size: a large leaf at level 2 or 3.</summary>
    public const ulong PageSizeBit = 1UL << 7;

    /// <summary>Bits 51:12, the table or page address.</summary>
    public const ulong AddressMask = 0x000F_FFFF_FFFF_F000UL;

    /// <summary>Every bit that is neither a flag nor address (PS is checked per level).</summary>
    public const ulong ReservedMask = ~(AddressMask | PresentBit | ReadBit | WriteBit | PageSizeBit);

    /// <summary>The highest address an entry can hold.</summary>
    public const ulong MaxAddress = AddressMask | 0xFFF;

    private const int PermissionShift = 1;

    /// <summary>The P bit.</summary>
    public bool IsPresent => (Value & PresentBit) != 0;

    /// <summary>The PS bit.</summary>
    public bool IsLargePage => (Value & PageSizeBit) != 0;

    /// <summary>The next table's or the page's bus address.</summary>
    public ulong Address => Value & AddressMask;

    /// <summary>The R and W bits.</summary>
    public IommuProt Permissions => (IommuProt)((Value >> PermissionShift) & (ulong)IommuProt.ReadWrite);

    /// <summary>An entry pointing to the next-level table at <paramref name="tableAddress"/>, read and write allowed.</summary>
    public static PageTableEntry Table(ulong tableAddress) => new((tableAddress & AddressMask) | PresentBit | ReadBit | WriteBit);

    /// <summary>A leaf at <paramref name="level"/> mapping the page at <paramref name="pageAddress"/> with <paramref name="prot"/>.</summary>
    public static PageTableEntry Leaf(ulong pageAddress, IommuProt prot, int level) =>
        new((pageAddress & AddressMask) | PresentBit | ((ulong)(prot & IommuProt.ReadWrite) << PermissionShift) | (level > 1 ? PageSizeBit : 0));

    /// <summary>Entry <paramref name="index"/> of consecutive entries read from a table in one access.</summary>
    public static PageTableEntry At(ReadOnlySpan<byte> entries, int index) =>
        new(BinaryPrimitives.ReadUInt64LittleEndian(entries.Slice(index * PageTableGeometry.EntryBytes, PageTableGeometry.EntryBytes)));

    /// <summary>True when the entry is a leaf at <paramref name="level"/> (level 1, or PS set).</summary>
    public bool IsLeafAt(int level) => level == 1 || IsLargePage;

    /// <summary>True when no reserved bit is set for an entry found at <paramref name="level"/>.</summary>
    public bool HasValidFormatAt(int level)
    {
        if ((Value & ReservedMask) != 0)
        {
            return false;
        }

        if (!IsLargePage)
        {
            return true;
        }

        // PS is reserved at level 1 (always a 4 KiB leaf) and level 4 (no 512 GiB pages); a large leaf's
        // address bits below its page size are reserved.
        return level is > 1 and <= PageTableGeometry.MaxLeafLevel
            && (Address & (PageTableGeometry.LevelSize(level) - 1)) == 0;
    }

    /// <summary>The entry as the hex value software would print.</summary>
    public override string ToString() => "0x" + Value.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
}
