using System;
using System.Collections.Generic;

namespace P2pEmu.Dma.Block;

/// <summary>
/// Linux <c>bio_split_rw_at</c> and <c>bio_submit_split</c>: cuts a bio into pieces a driver can take in one
/// request — at most <see cref="QueueLimits.MaxHwSectors"/>, <see cref="QueueLimits.MaxSegments"/> segments, and
/// no gap against <see cref="QueueLimits.VirtBoundaryMask"/> inside a piece. A cut is rounded down to the logical
/// block size and the bytes past it start the next piece; a cut that rounds down to nothing (a gap or the segment
/// limit inside the first logical block) fails the bio with <see cref="BlkStatus.Inval"/>, as Linux does.
/// </summary>
internal static class BioSplitter
{
    /// <summary>One piece: its first sector, segments and byte count.</summary>
    internal readonly record struct Piece(ulong Sector, List<BioVec> Segments, uint Bytes);

    public static BlkStatus Split(Bio bio, QueueLimits limits, List<Piece> pieces)
    {
        uint blockMask = limits.LogicalBlockSize - 1;
        if ((bio.Size & blockMask) != 0)
        {
            return BlkStatus.Inval;
        }

        ulong maxBytes = limits.MaxHwBytes & ~(ulong)blockMask;
        var work = new List<BioVec>(bio.Vecs);
        var cut = new Cutter(pieces, work, bio.Sector, blockMask);
        int i = 0;
        while (i < work.Count)
        {
            BioVec vec = work[i];
            if (cut.Current.Count > 0 && (cut.Current.Count == limits.MaxSegments || HasGap(limits, cut.Current[^1], vec.Phys)))
            {
                if (!cut.Close(i))
                {
                    return BlkStatus.Inval;
                }

                continue; // bytes carried over from the closed piece now sit at work[i]
            }

            uint take = (uint)Math.Min(vec.Length, Math.Min(maxBytes - cut.Bytes, limits.MaxSegmentSize));
            cut.Current.Add(BioVec.FromPhys(vec.Phys, take));
            cut.Bytes += take;
            if (take < vec.Length)
            {
                work[i] = BioVec.FromPhys(vec.Phys + take, vec.Length - take);
            }
            else
            {
                i++;
            }

            if (cut.Bytes == maxBytes && !cut.Close(i))
            {
                return BlkStatus.Inval;
            }
        }

        return cut.Current.Count == 0 || cut.Close(work.Count) ? BlkStatus.Ok : BlkStatus.Inval;
    }

    /// <summary><c>bvec_gap_to_prev</c>: the previous segment does not end, or the next does not start, on the boundary.</summary>
    internal static bool HasGap(QueueLimits limits, BioVec previous, ulong nextStart) =>
        limits.VirtBoundaryMask != 0 && ((previous.End | nextStart) & limits.VirtBoundaryMask) != 0;

    /// <summary>The piece being built, and how a piece is closed.</summary>
    private sealed class Cutter(List<Piece> pieces, List<BioVec> work, ulong sector, uint blockMask)
    {
        private ulong _sector = sector;

        public List<BioVec> Current { get; private set; } = new();

        public ulong Bytes { get; set; }

        /// <summary>
        /// Ends the piece at a logical block boundary; bytes past the boundary go back into the work list at
        /// <paramref name="at"/>, in order. False when no whole block is left.
        /// </summary>
        public bool Close(int at)
        {
            ulong remainder = Bytes & blockMask;
            if (Bytes == remainder)
            {
                return false;
            }

            while (remainder != 0)
            {
                BioVec last = Current[^1];
                if (last.Length <= remainder)
                {
                    Current.RemoveAt(Current.Count - 1);
                    work.Insert(at, last);
                    remainder -= last.Length;
                }
                else
                {
                    uint keep = last.Length - (uint)remainder;
                    Current[^1] = last with { Length = keep };
                    work.Insert(at, BioVec.FromPhys(last.Phys + keep, (uint)remainder));
                    remainder = 0;
                }
            }

            ulong bytes = Bytes & ~(ulong)blockMask;
            pieces.Add(new Piece(_sector, Current, (uint)bytes));
            _sector += bytes >> BlockGeometry.SectorShift;
            Current = new List<BioVec>();
            Bytes = 0;
            return true;
        }
    }
}
