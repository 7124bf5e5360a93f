using System.Collections.Generic;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Dma.P2pDma;

/// <summary>
/// The kernel's answer for one provider/client pair, with its reasons: the map type, the distance
/// <c>pci_p2pdma_distance</c> returns (-1 when not supported) and the computed one, the devices whose ACS
/// redirects (provider side first), the common upstream device, and whether the host-bridge path is
/// allowed (<c>cpu_supports_p2pdma() || host_bridge_whitelist()</c>; <see cref="P2pDmaHost.DescribeHostBridgeDecision"/> says why).
/// </summary>
public sealed record P2pVerdict(
    PciFunction Provider,
    PciFunction Client,
    PciP2pdmaMapType MapType,
    int Distance,
    int PathDistance,
    PciFunction? CommonUpstream,
    IReadOnlyList<PciFunction> RedirectingDevices,
    bool HostBridgeAllowed);
