namespace P2pEmu.Dma.P2pDma;

/// <summary>
/// One entry of a <see cref="P2pScatterlist"/> (Linux <c>sg_set_buf(sg, addr, length)</c>): the p2pmem
/// allocation it points at and the length the caller asked for, which may be less than the whole pages
/// the allocation covers.
/// </summary>
public readonly record struct P2pScatterlistEntry(P2pMemory Memory, uint Length)
{
    /// <summary>The PCI bus address of the entry's first byte (<c>pci_p2pmem_virt_to_bus</c> of its buffer).</summary>
    public ulong BusAddress => Memory.BusAddress;
}
