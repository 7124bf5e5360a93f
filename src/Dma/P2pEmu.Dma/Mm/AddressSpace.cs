using System;
using System.Collections.Generic;
using System.Threading;

namespace P2pEmu.Dma.Mm;

/// <summary>
/// Linux <c>struct address_space</c> of a file, as far as mappings go: the <c>i_mmap</c> set of every VMA, in any
/// address space, that maps the file, so the file's owner can take every user mapping down at once.
/// </summary>
/// <remarks>
/// Lock order: an <see cref="MmStruct"/>'s mmap lock, then this mapping's lock (<c>i_mmap_rwsem</c>), then an
/// address space's page-table lock. <see cref="UnmapMappingRange"/> holds this lock while it zaps, so a VMA it
/// sees stays mapped until its page-table entries are gone, and no new mapping can take its place meanwhile.
/// </remarks>
public sealed class AddressSpace
{
    private readonly Lock _lock = new();
    private readonly List<VmAreaStruct> _vmas = new();

    /// <summary><c>mapping_mapped</c>: how many VMAs map the file now.</summary>
    public int MapCount
    {
        get
        {
            lock (_lock)
            {
                return _vmas.Count;
            }
        }
    }

    /// <summary>
    /// Linux <c>unmap_mapping_range(mapping, holebegin, holelen, even_cows = 1)</c>: removes, in every address
    /// space, the page-table entries that map file bytes [<paramref name="holeBegin"/>, <paramref name="holeBegin"/>
    /// + <paramref name="holeLength"/>); a length of 0 means to the end of the file. The VMAs stay: a later access
    /// faults (and, for a file without a fault handler, gets SIGBUS). On return no CPU can reach those pages
    /// through any of these mappings any more.
    /// </summary>
    public void UnmapMappingRange(ulong holeBegin, ulong holeLength)
    {
        ulong firstPage = holeBegin >> Page.PageShift;
        ulong endPage = holeLength == 0 ? ulong.MaxValue : (holeBegin + holeLength + (Page.PageSize - 1)) >> Page.PageShift;
        lock (_lock)
        {
            foreach (VmAreaStruct vma in _vmas)
            {
                ulong vmaPages = vma.LengthBytes >> Page.PageShift;
                ulong from = Math.Max(firstPage, vma.PgOff);
                ulong to = Math.Min(endPage, vma.PgOff + vmaPages);
                if (from < to)
                {
                    ulong start = vma.Start + ((from - vma.PgOff) << Page.PageShift);
                    vma.Mm.ZapPteRange(start, start + ((to - from) << Page.PageShift));
                }
            }
        }
    }

    /// <summary>Linux <c>vma_link_file</c>.</summary>
    internal void Link(VmAreaStruct vma)
    {
        lock (_lock)
        {
            _vmas.Add(vma);
        }
    }

    /// <summary>Linux <c>unlink_file_vma</c>.</summary>
    internal void Unlink(VmAreaStruct vma)
    {
        lock (_lock)
        {
            _vmas.Remove(vma);
        }
    }

    /// <summary>A VMA was split: its remaining pieces take its place, atomically for <see cref="UnmapMappingRange"/>.</summary>
    internal void Replace(VmAreaStruct vma, IReadOnlyList<VmAreaStruct> pieces)
    {
        lock (_lock)
        {
            _vmas.Remove(vma);
            _vmas.AddRange(pieces);
        }
    }
}
