namespace P2pEmu.Dma.DmaBuf;

/// <summary>
/// Linux <c>struct phys_vec</c> (earlier <c>dma_buf_phys_vec</c>): one range of CPU physical addresses, here of a
/// BAR, that a phys-based exporter maps with <c>dma_buf_phys_vec_to_sgt</c>.
/// </summary>
public readonly record struct PhysVec(ulong Paddr, ulong Len)
{
    public override string ToString() => $"[0x{Paddr:x}+0x{Len:x}]";
}
