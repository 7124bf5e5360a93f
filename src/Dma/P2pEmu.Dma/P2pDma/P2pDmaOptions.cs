using System.Collections.Generic;

namespace P2pEmu.Dma.P2pDma;

/// <summary>How the P2PDMA subsystem of one machine is configured beyond what the topology says.</summary>
public sealed record P2pDmaOptions
{
    /// <summary>The host-bridge allow list; null takes the kernel profile's (<see cref="HostBridgeAllowList.For"/>).</summary>
    public IReadOnlyList<HostBridgeAllowListEntry>? AllowList { get; init; }

    /// <summary>Seed of the random choice in <c>pci_p2pmem_find_many</c>; null draws one.</summary>
    public int? RandomSeed { get; init; }
}
