using P2pEmu.Emulator.Addressing;

namespace P2pEmu.Dma.Mapping;

/// <summary>
/// Linux <c>struct dma_iova_state</c>: one contiguous IOVA window allocated by <c>dma_iova_try_alloc</c>, into
/// which ranges are linked in order with <c>dma_iova_link</c>.
/// </summary>
public sealed class DmaIovaState
{
    /// <summary>The window's first DMA address (including the first range's offset into its page).</summary>
    public DmaAddress Address { get; internal set; }

    /// <summary>The window's size in bytes, as requested.</summary>
    public ulong Size { get; internal set; }

    /// <summary>True while a window is allocated (<c>dma_use_iova</c>).</summary>
    public bool UsesIova { get; internal set; }

    /// <summary>Bytes linked so far.</summary>
    public ulong LinkedBytes { get; internal set; }

    /// <summary>Internal: the allocated IOVA range (page-aligned) and its length.</summary>
    internal ulong IovaBase { get; set; }

    internal ulong IovaLength { get; set; }
}
