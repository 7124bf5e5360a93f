using System;
using System.Globalization;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Dma.Mm;

/// <summary>
/// Linux <c>struct vm_area_struct</c>: one mapping [<see cref="Start"/>, <see cref="End"/>) of an
/// <see cref="MmStruct"/>, anonymous or of a file at page offset <see cref="PgOff"/>. The page-table entries live
/// in the address space; a VMA only describes the range and its permissions.
/// </summary>
/// <remarks>
/// The range never changes: when munmap cuts a VMA, the remaining pieces become new VMA objects. A VMA that was
/// unmapped, or replaced by its pieces, is detached (<see cref="IsDetached"/>).
/// </remarks>
public sealed class VmAreaStruct
{
    internal VmAreaStruct(MmStruct mm, ulong start, ulong end, VmFlags flags, IMmapFile? file, ulong pgOff)
    {
        Mm = mm;
        Start = start;
        End = end;
        Flags = flags;
        File = file;
        PgOff = pgOff;
    }

    /// <summary><c>vm_mm</c>: the address space the mapping belongs to.</summary>
    public MmStruct Mm { get; }

    /// <summary><c>vm_start</c>: the first address (page aligned).</summary>
    public ulong Start { get; }

    /// <summary><c>vm_end</c>: the first address after the mapping (page aligned).</summary>
    public ulong End { get; }

    /// <summary><c>vm_end - vm_start</c>.</summary>
    public ulong LengthBytes => End - Start;

    /// <summary><c>vm_flags</c>. A file's mmap operation may add flags (e.g. VM_MIXEDMAP) while it sets the mapping up.</summary>
    public VmFlags Flags { get; internal set; }

    /// <summary><c>vm_pgoff</c>: the file offset of <see cref="Start"/>, in pages.</summary>
    public ulong PgOff { get; }

    /// <summary><c>vm_file</c>; null for anonymous memory.</summary>
    public IMmapFile? File { get; }

    /// <summary><c>vma_is_anonymous</c>.</summary>
    public bool IsAnonymous => File is null;

    /// <summary>
    /// The special entries of a VM_PFNMAP | VM_IO mapping, set by the file's mmap operation (<see cref="SetPfnMap"/>);
    /// null for mappings of pages.
    /// </summary>
    public IPfnMap? PfnMap { get; private set; }

    /// <summary>Where <see cref="Start"/> falls in <see cref="PfnMap"/> (a piece of a split VMA starts inside it).</summary>
    public ulong PfnMapOffset { get; private set; }

    /// <summary>
    /// For a file's mmap operation: the mapping is of page frames without <c>struct page</c> (MMIO), reached through
    /// <paramref name="map"/>: the VMA becomes VM_PFNMAP | VM_IO | VM_DONTEXPAND, as <c>remap_pfn_range</c> and the
    /// mmap operations of vfio-pci and dma-buf exporters make it. The VMA takes over the caller's reference.
    /// </summary>
    /// <exception cref="InvalidOperationException">The VMA already has a PFN map or maps pages.</exception>
    public void SetPfnMap(IPfnMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (PfnMap is not null || (Flags & VmFlags.MixedMap) != 0)
        {
            throw new InvalidOperationException("The VMA already maps pages or page frames.");
        }

        PfnMap = map;
        Flags |= VmFlags.PfnMap | VmFlags.Io | VmFlags.DontExpand;
    }

    /// <summary>A piece of this VMA from <paramref name="start"/> to <paramref name="end"/>, sharing its PFN map (with a reference of its own).</summary>
    internal VmAreaStruct Piece(ulong start, ulong end, ulong pgOff)
    {
        var piece = new VmAreaStruct(Mm, start, end, Flags, File, pgOff);
        if (PfnMap is not null)
        {
            PfnMap.VmaOpen();
            piece.PfnMap = PfnMap;
            piece.PfnMapOffset = PfnMapOffset + (start - Start);
        }

        return piece;
    }

    /// <summary>True once the VMA left its address space (unmapped, or split into new pieces).</summary>
    public bool IsDetached { get; internal set; }

    /// <summary>
    /// Linux <c>vm_insert_page</c>, for a file's mmap operation: maps <paramref name="page"/> at
    /// <paramref name="address"/>, taking a reference on it, and marks the VMA VM_MIXEDMAP.
    /// </summary>
    /// <returns>None; EFAULT when the address is outside the VMA; EBUSY when a page is already mapped there.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="page"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="address"/> is not page aligned.</exception>
    public Errno VmInsertPage(ulong address, Page page)
    {
        ArgumentNullException.ThrowIfNull(page);
        if (PfnMap is not null)
        {
            throw new InvalidOperationException("vm_insert_page on a VM_PFNMAP mapping.");
        }

        if ((address & (Page.PageSize - 1)) != 0)
        {
            throw new ArgumentException("vm_insert_page needs a page-aligned address.", nameof(address));
        }

        if (address < Start || address >= End)
        {
            return Errno.EFAULT;
        }

        Flags |= VmFlags.MixedMap;
        return Mm.InsertPte(address, page);
    }

    /// <summary>
    /// Linux <c>zap_page_range_single</c>: removes the page-table entries of [<paramref name="address"/>,
    /// <paramref name="address"/> + <paramref name="size"/>) (clipped to the VMA), dropping their page references.
    /// </summary>
    public void ZapPageRangeSingle(ulong address, ulong size)
    {
        ulong from = Math.Max(address & ~(Page.PageSize - 1), Start);
        ulong to = size > End - Math.Min(address, End) ? End : Math.Min(End, address + size);
        if (from < to)
        {
            Mm.ZapPteRange(from, to);
        }
    }

    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"[0x{Start:x}-0x{End:x}) {Flags}{(File is null ? " anon" : $" pgoff 0x{PgOff:x}")}");
}
