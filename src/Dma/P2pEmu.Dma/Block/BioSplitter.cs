using System;
using System.Collections.Generic;

namespace P2pEmu.Dma.Block;

/// <summary>
/// Linux <c>bio_split_rw_at</c> and <c>bio_submit_split</c>: cuts a bio into pieces a driver can take in one
/// request — at most <see cref="QueueLimits.MaxHwSectors"/>, <see cref="QueueLimits.MaxSegments"/> segments, and
/// no gap against <see cref="QueueLimits.VirtBoundaryMask"/> inside a piece.
/// </summary>
/// <remarks>
/// Deviation: where Linux rounds a split down to the logical block size and carries the remainder over, a split
/// that would fall inside a logical block (only possible for a bio whose bio_vecs are not whole blocks) fails the
/// bio with <see cref="BlkStatus.Inval"/>; O_DIRECT never builds such a bio.
/// </remarks>
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
        ulong sector = bio.Sector;
        var current = new List<BioVec>();
        ulong bytes = 0;
        foreach (BioVec vec in bio.Vecs)
        {
            uint done = 0;
            while (done < vec.Length)
            {
                ulong start = vec.Phys + done;
                if (current.Count > 0 && (current.Count == limits.MaxSegments || HasGap(limits, current[^1], start)))
                {
                    if (!Close(pieces, ref current, ref sector, ref bytes, blockMask))
                    {
                        return BlkStatus.Inval;
                    }
                }

                uint take = (uint)Math.Min(vec.Length - done, Math.Min(maxBytes - bytes, limits.MaxSegmentSize));
                current.Add(BioVec.FromPhys(start, take));
                bytes += take;
                done += take;
                if (bytes == maxBytes && !Close(pieces, ref current, ref sector, ref bytes, blockMask))
                {
                    return BlkStatus.Inval;
                }
            }
        }

        return current.Count == 0 || Close(pieces, ref current, ref sector, ref bytes, blockMask) ? BlkStatus.Ok : BlkStatus.Inval;
    }

    /// <summary><c>bvec_gap_to_prev</c>: the previous segment does not end, or the next does not start, on the boundary.</summary>
    internal static bool HasGap(QueueLimits limits, BioVec previous, ulong nextStart) =>
        limits.VirtBoundaryMask != 0 && ((previous.End | nextStart) & limits.VirtBoundaryMask) != 0;

    private static bool Close(List<Piece> pieces, ref List<BioVec> current, ref ulong sector, ref ulong bytes, uint blockMask)
    {
        if ((bytes & blockMask) != 0)
        {
            return false;
        }

        pieces.Add(new Piece(sector, current, (uint)bytes));
        sector += bytes >> BlockGeometry.SectorShift;
        current = new List<BioVec>();
        bytes = 0;
        return true;
    }
}
