using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;

namespace P2pEmu.Dma.Block;

/// <summary>
/// Linux <c>struct blk_dma_iter</c>: the DMA segment <see cref="BlkMqDma"/> mapped last (<see cref="Addr"/>,
/// <see cref="Len"/>; a driver may advance them as it consumes the segment) or, when none was mapped, why
/// (<see cref="Status"/>).
/// </summary>
public sealed class BlkDmaIter
{
    /// <summary>The DMA address of the current segment.</summary>
    public DmaAddress Addr { get; set; }

    /// <summary>Bytes left in the current segment.</summary>
    public ulong Len { get; set; }

    /// <summary>OK, or why mapping stopped (Inval: P2P memory the device cannot reach; Resource: a mapping failed).</summary>
    public BlkStatus Status { get; internal set; }

    /// <summary>The P2P state from the request's first segment (<c>iter-&gt;p2pdma</c>).</summary>
    internal PciP2pdmaMapState P2pdma { get; set; } = new();

    /// <summary>The next data segment of the request to map.</summary>
    internal int NextSegment { get; set; }
}
