using System.Collections.Generic;
using P2pEmu.Emulator.Addressing;

namespace P2pEmu.Dma.Block;

/// <summary>
/// Linux <c>struct bio_vec</c>: <paramref name="Length"/> bytes starting <paramref name="Offset"/> bytes into the page
/// at <paramref name="Page"/>. A page is a host RAM page (from the kernel's page allocator) or a P2P page of a
/// provider's page map (<see cref="P2pDma.P2pDmaHost.FindPagemap"/> tells which). A bio_vec may run over
/// physically contiguous pages (a multi-page bvec).
/// </summary>
/// <param name="Page">The physical address of the first page (page aligned).</param>
/// <param name="Offset">Where the data starts inside that page.</param>
/// <param name="Length">Bytes of data.</param>
public readonly record struct BioVec(PhysAddress Page, uint Offset, uint Length)
{
    /// <summary><c>bvec_phys</c>: the physical address of the first byte.</summary>
    public ulong Phys => Page.Value + Offset;

    /// <summary>The physical address one past the last byte.</summary>
    public ulong End => Phys + Length;

    /// <summary>A bio_vec over [<paramref name="phys"/>, <paramref name="phys"/> + <paramref name="length"/>), split into page and offset.</summary>
    public static BioVec FromPhys(ulong phys, uint length) =>
        new(new PhysAddress(phys & ~(BlockGeometry.PageSize - 1)), (uint)(phys & (BlockGeometry.PageSize - 1)), length);

    /// <summary>
    /// Moves the last <paramref name="bytes"/> bytes of <paramref name="from"/> (at most its total) into
    /// <paramref name="into"/> at <paramref name="at"/>, in order, cutting the bio_vec the boundary falls in.
    /// </summary>
    internal static void MoveTail(List<BioVec> from, uint bytes, List<BioVec> into, int at)
    {
        uint left = bytes;
        while (left != 0)
        {
            BioVec last = from[^1];
            if (last.Length <= left)
            {
                from.RemoveAt(from.Count - 1);
                into.Insert(at, last);
                left -= last.Length;
            }
            else
            {
                uint keep = last.Length - left;
                from[^1] = last with { Length = keep };
                into.Insert(at, FromPhys(last.Phys + keep, left));
                left = 0;
            }
        }
    }

    public override string ToString() => $"page 0x{Page.Value:x} +0x{Offset:x} len 0x{Length:x}";
}
