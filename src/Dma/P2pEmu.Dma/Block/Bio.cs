using System;
using System.Collections.Generic;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;

namespace P2pEmu.Dma.Block;

/// <summary>
/// Linux <c>struct bio</c>: one contiguous range of sectors and the pages its data lives in. Pages are added with
/// <see cref="BioAddPage"/>, which keeps a bio homogeneous: all host RAM pages, or all P2P pages of one page map
/// (spec §3.4, <c>zone_device_pages_have_same_pgmap</c>); a P2P bio is flagged <see cref="ReqFlags.P2pdma"/> and
/// <see cref="ReqFlags.NoMerge"/>.
/// </summary>
/// <remarks>Not thread safe: a bio is built by one thread, then submitted.</remarks>
public sealed class Bio
{
    private readonly P2pDmaHost _p2p;
    private readonly List<BioVec> _vecs = new();

    /// <summary><c>bio_alloc</c>: an empty bio of <paramref name="op"/> at <paramref name="sector"/> (512-byte units).</summary>
    /// <param name="p2p">The machine's P2PDMA state, which knows every page map (<c>page_pgmap</c>).</param>
    /// <param name="maxVecs"><c>bi_max_vecs</c>: how many bio_vecs it can hold.</param>
    /// <exception cref="ArgumentNullException"><paramref name="p2p"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxVecs"/> is not 1 to <see cref="BlockGeometry.BioMaxVecs"/>.</exception>
    public Bio(P2pDmaHost p2p, ReqOp op, ulong sector, int maxVecs = BlockGeometry.BioMaxVecs)
    {
        ArgumentNullException.ThrowIfNull(p2p);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxVecs, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxVecs, BlockGeometry.BioMaxVecs);
        _p2p = p2p;
        Op = op;
        Sector = sector;
        MaxVecs = maxVecs;
    }

    public ReqOp Op { get; }

    /// <summary><c>bi_opf</c>'s flags.</summary>
    public ReqFlags Flags { get; private set; }

    /// <summary><c>bi_iter.bi_sector</c>: the first 512-byte sector.</summary>
    public ulong Sector { get; }

    /// <summary><c>bi_iter.bi_size</c>: data bytes.</summary>
    public uint Size { get; private set; }

    /// <summary><c>bi_max_vecs</c>.</summary>
    public int MaxVecs { get; }

    /// <summary><c>bi_io_vec</c>, <c>bi_vcnt</c> entries.</summary>
    public IReadOnlyList<BioVec> Vecs => _vecs;

    /// <summary><c>bio_full</c> as far as bio_vecs go: no room for another one.</summary>
    public bool IsFull => _vecs.Count >= MaxVecs;

    /// <summary>The page map of the bio's pages when it carries P2P pages; null for host RAM.</summary>
    public P2pPagemap? Pagemap { get; private set; }

    /// <summary>
    /// Linux <c>bio_add_page</c>: appends <paramref name="length"/> bytes at <paramref name="offset"/> into the page at
    /// <paramref name="page"/>, merged into the last bio_vec when physically contiguous with it.
    /// </summary>
    /// <returns>
    /// The bytes added, or 0 when the page was refused: it is of another page map than the bio's pages (a P2P page
    /// after host pages, a host page after P2P pages, or P2P pages of two page maps), the bio is full, or its size
    /// would pass 4 GiB.
    /// </returns>
    /// <exception cref="ArgumentException"><paramref name="page"/> is not page aligned, or <paramref name="length"/> is 0.</exception>
    public uint BioAddPage(PhysAddress page, uint length, uint offset)
    {
        if ((page.Value & (BlockGeometry.PageSize - 1)) != 0)
        {
            throw new ArgumentException($"0x{page.Value:x} is not a page address.", nameof(page));
        }

        ArgumentOutOfRangeException.ThrowIfZero(length);
        if (Size > uint.MaxValue - length)
        {
            return 0;
        }

        ulong phys = page.Value + offset;
        P2pPagemap? pagemap = _p2p.FindPagemap(phys);
        if (_vecs.Count > 0)
        {
            if (!ReferenceEquals(pagemap, Pagemap))
            {
                return 0; // zone_device_pages_have_same_pgmap
            }

            BioVec last = _vecs[^1];
            if (last.End == phys)
            {
                _vecs[^1] = last with { Length = last.Length + length };
                Size += length;
                return length;
            }
        }

        if (_vecs.Count >= MaxVecs)
        {
            return 0;
        }

        if (_vecs.Count == 0 && pagemap is not null)
        {
            Flags |= ReqFlags.P2pdma | ReqFlags.NoMerge;
        }

        Pagemap = pagemap;
        _vecs.Add(new BioVec(page, offset, length));
        Size += length;
        return length;
    }

    /// <summary>
    /// Takes the last <paramref name="bytes"/> bytes off the bio (as <c>bio_iov_iter_align_down</c> does when a full bio
    /// does not end on a logical block) and returns them as bio_vecs, in order.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytes"/> is not below the bio's size.</exception>
    internal List<BioVec> TrimTail(uint bytes)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(bytes, Size);
        var removed = new List<BioVec>();
        uint left = bytes;
        while (left != 0)
        {
            BioVec last = _vecs[^1];
            if (last.Length <= left)
            {
                _vecs.RemoveAt(_vecs.Count - 1);
                removed.Insert(0, last);
                left -= last.Length;
            }
            else
            {
                uint keep = last.Length - left;
                _vecs[^1] = last with { Length = keep };
                removed.Insert(0, BioVec.FromPhys(last.Phys + keep, left));
                left = 0;
            }
        }

        Size -= bytes;
        return removed;
    }

    public override string ToString() => $"{Op} sector {Sector} +{Size} bytes in {_vecs.Count} vecs{(Pagemap is null ? string.Empty : " (P2P)")}";
}
