using System;

namespace P2pEmu.Dma.Mapping;

/// <summary>Linux <c>DMA_ATTR_*</c> flags the emulated DMA API honours.</summary>
[Flags]
#pragma warning disable CA1711 // Linux's name.
public enum DmaAttrs
#pragma warning restore CA1711
{
    None = 0,

    /// <summary><c>DMA_ATTR_SKIP_CPU_SYNC</c>.</summary>
    SkipCpuSync = 1 << 5,

    /// <summary><c>DMA_ATTR_MMIO</c>: the physical address is MMIO (a peer BAR), never bounced, mapped as-is by dma-direct.</summary>
    Mmio = 1 << 10,
}
