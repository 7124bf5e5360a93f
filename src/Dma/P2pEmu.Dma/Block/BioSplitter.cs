using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace P2pEmu.Dma.Block;

/// <summary>
/// Linux <c>bio_split_rw_at</c> and <c>bio_submit_split</c>: cuts a bio into pieces a driver can take in one
/// request — at most <see cref="QueueLimits.MaxHwSectors"/>, <see cref="QueueLimits.MaxSegments"/> segments, and
/// no gap against <see cref="QueueLimits.VirtBoundaryMask"/> inside a piece. A cut is rounded down to the logical
/// block size and the bytes past it start the next piece; a cut that rounds down to nothing (a gap or the segment
/// limit inside the first logical block) fails the bio with <see cref="BlkStatus.Inval"/>, as Linux does.
/// </summary>
/// <remarks>
/// The pieces live in the splitter until its next <see cref="Split"/>: a request copies its piece's segments when it
/// is built, so one splitter per thread serves every split (<see cref="Rent"/>), allocating nothing once its lists
/// have grown — as Linux's split bios come from the queue's <c>bio_split</c> set, not from the page allocator.
/// </remarks>
internal sealed class BioSplitter
{
    [ThreadStatic]
    private static BioSplitter? s_cached;

    private readonly List<BioVec> _work = new();
    private readonly List<BioVec> _segments = new();
    private readonly List<Piece> _pieces = new();
    private ulong _sector;
    private ulong _bytes;
    private int _currentStart;

    /// <summary>One piece: its first sector, where its segments are in <see cref="Segments"/>, and its byte count.</summary>
    internal readonly record struct Piece(ulong Sector, int FirstSegment, int SegmentCount, uint Bytes);

    /// <summary>The pieces of the last <see cref="Split"/>, in order.</summary>
    public IReadOnlyList<Piece> Pieces => _pieces;

    /// <summary>
    /// The calling thread's splitter (a new one when a split on this thread is already using it); give it back with
    /// <see cref="Return"/>.
    /// </summary>
    public static BioSplitter Rent()
    {
        BioSplitter splitter = s_cached ?? new BioSplitter();
        s_cached = null;
        return splitter;
    }

    public static void Return(BioSplitter splitter) => s_cached = splitter;

    /// <summary><c>bvec_gap_to_prev</c>: the previous segment does not end, or the next does not start, on the boundary.</summary>
    internal static bool HasGap(QueueLimits limits, BioVec previous, ulong nextStart) =>
        limits.VirtBoundaryMask != 0 && ((previous.End | nextStart) & limits.VirtBoundaryMask) != 0;

    /// <summary>The segments of <paramref name="piece"/>, valid until the next <see cref="Split"/>.</summary>
    public ReadOnlySpan<BioVec> Segments(Piece piece) =>
        CollectionsMarshal.AsSpan(_segments).Slice(piece.FirstSegment, piece.SegmentCount);

    /// <summary>Splits <paramref name="bio"/> by <paramref name="limits"/> into <see cref="Pieces"/> (those of an earlier split are dropped).</summary>
    public BlkStatus Split(Bio bio, QueueLimits limits)
    {
        _pieces.Clear();
        _segments.Clear();
        _work.Clear();
        _work.AddRange(bio.VecSpan);
        _sector = bio.Sector;
        _bytes = 0;
        _currentStart = 0;
        uint blockMask = limits.LogicalBlockSize - 1;
        if ((bio.Size & blockMask) != 0)
        {
            return BlkStatus.Inval;
        }

        ulong maxBytes = limits.MaxHwBytes & ~(ulong)blockMask;
        int i = 0;
        while (i < _work.Count)
        {
            BioVec vec = _work[i];
            int current = _segments.Count - _currentStart;
            if (current > 0 && (current == limits.MaxSegments || HasGap(limits, _segments[^1], vec.Phys)))
            {
                if (!Close(i, blockMask))
                {
                    return BlkStatus.Inval;
                }

                continue; // bytes carried over from the closed piece now sit at _work[i]
            }

            uint take = (uint)Math.Min(vec.Length, Math.Min(maxBytes - _bytes, limits.MaxSegmentSize));
            _segments.Add(BioVec.FromPhys(vec.Phys, take));
            _bytes += take;
            if (take < vec.Length)
            {
                _work[i] = BioVec.FromPhys(vec.Phys + take, vec.Length - take);
            }
            else
            {
                i++;
            }

            if (_bytes == maxBytes && !Close(i, blockMask))
            {
                return BlkStatus.Inval;
            }
        }

        return _segments.Count == _currentStart || Close(_work.Count, blockMask) ? BlkStatus.Ok : BlkStatus.Inval;
    }

    /// <summary>
    /// Ends the piece being built at a logical block boundary; bytes past the boundary go back into the work list at
    /// <paramref name="at"/>, in order. False when no whole block is left.
    /// </summary>
    private bool Close(int at, uint blockMask)
    {
        ulong remainder = _bytes & blockMask;
        if (_bytes == remainder)
        {
            return false;
        }

        BioVec.MoveTail(_segments, (uint)remainder, _work, at);
        ulong bytes = _bytes & ~(ulong)blockMask;
        _pieces.Add(new Piece(_sector, _currentStart, _segments.Count - _currentStart, (uint)bytes));
        _sector += bytes >> BlockGeometry.SectorShift;
        _currentStart = _segments.Count;
        _bytes = 0;
        return true;
    }
}
