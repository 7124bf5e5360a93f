namespace P2pEmu.Emulator.Pci;

/// <summary>Device/Port Type field of the PCI Express Capabilities register.</summary>
public enum PciExpressPortType
{
    Endpoint = 0x0,
    LegacyEndpoint = 0x1,
    RootPort = 0x4,
    UpstreamPort = 0x5,
    DownstreamPort = 0x6,
    PciBridge = 0x7,
    PcieBridge = 0x8,
    RootComplexIntegratedEndpoint = 0x9,
    RootComplexEventCollector = 0xA,
}
