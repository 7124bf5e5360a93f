using System;

namespace P2pEmu.Dma.Block;

/// <summary>The Linux <c>REQ_*</c> flags of <c>bi_opf</c>/<c>cmd_flags</c> the block layer here uses.</summary>
[Flags]
#pragma warning disable CA1711 // Linux's name (req_flag_bits).
public enum ReqFlags
#pragma warning restore CA1711
{
    None = 0,

    /// <summary><c>REQ_FAILFAST_DRIVER</c>: never retried (set on every passthrough command).</summary>
    FailfastDriver = 1 << 0,

    /// <summary><c>REQ_NOMERGE</c>: never merged with another bio (set with <see cref="P2pdma"/>).</summary>
    NoMerge = 1 << 1,

    /// <summary><c>REQ_P2PDMA</c>: the data pages are PCI P2P pages (all of one page map).</summary>
    P2pdma = 1 << 2,

    /// <summary>
    /// <c>REQ_MMIO</c>: the data is MMIO reached through the host bridge; set by the DMA iterator when it finds
    /// a THRU_HOST_BRIDGE P2P request, so mappings use <c>DMA_ATTR_MMIO</c>.
    /// </summary>
    Mmio = 1 << 3,
}
