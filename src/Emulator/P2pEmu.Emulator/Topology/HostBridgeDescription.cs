using System.Collections.Generic;

namespace P2pEmu.Emulator.Topology;

/// <summary>One PCI host bridge: a segment, a root bus and the functions on it in kernel list order.</summary>
/// <param name="JsonPath">Where this came from, for error messages (e.g. <c>$.hostBridges[0]</c>).</param>
public sealed record HostBridgeDescription(
    string Name,
    int Segment,
    int Bus,
    IommuMode Iommu,
    bool RootComplexP2p,
    IReadOnlyList<DeviceDescription> Devices,
    string JsonPath);
