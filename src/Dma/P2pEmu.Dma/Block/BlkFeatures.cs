using System;

namespace P2pEmu.Dma.Block;

/// <summary>Linux <c>BLK_FEAT_*</c>: what a request queue advertises (<c>queue_limits.features</c>).</summary>
[Flags]
public enum BlkFeatures
{
    None = 0,

    /// <summary>
    /// <c>BLK_FEAT_PCI_P2PDMA</c> (<c>blk_queue_pci_p2pdma</c>): the queue's driver can DMA to and from PCI P2P
    /// pages, so O_DIRECT pins user pages with <c>FOLL_PCI_P2PDMA</c> (spec §4.2).
    /// </summary>
    PciP2pdma = 1 << 13,
}
