using System.Collections.Generic;

namespace P2pEmu.Emulator.Topology;

/// <summary>A whole machine as a topology file (or an lspci dump) describes it: validated, immutable.</summary>
public sealed record TopologyDescription(PlatformDescription Platform, IReadOnlyList<HostBridgeDescription> HostBridges);
