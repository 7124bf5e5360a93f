using P2pEmu.Dma.Mapping;

namespace P2pEmu.Dma.DmaBuf;

/// <summary>
/// Linux <c>struct dma_buf_dma</c>: how a table from <c>dma_buf_phys_vec_to_sgt</c> was made, so
/// <c>dma_buf_free_sgt</c> undoes it the same way: no state (BUS_ADDR), an IOVA window, or one dma-direct mapping
/// per entry.
/// </summary>
internal sealed record PhysVecMapping(DmaIovaState? State, ulong Size);
