namespace P2pEmu.Dma.P2pDma;

/// <summary>One entry of Linux's <c>pci_p2pdma_whitelist</c>.</summary>
/// <param name="DeviceId">The device ID, or null for any (PCI_ANY_ID).</param>
/// <param name="RequireSameHostBridge">REQ_SAME_HOST_BRIDGE: allowed only when both devices are under this one host bridge.</param>
public sealed record HostBridgeAllowListEntry(ushort VendorId, ushort? DeviceId, bool RequireSameHostBridge, string Description)
{
    public bool Matches(ushort vendorId, ushort deviceId) => vendorId == VendorId && (DeviceId is null || DeviceId == deviceId);

    public override string ToString() =>
        $"{VendorId:x4}:{(DeviceId is ushort d ? d.ToString("x4", System.Globalization.CultureInfo.InvariantCulture) : "*")} {Description}{(RequireSameHostBridge ? " (same host bridge only)" : string.Empty)}";
}
