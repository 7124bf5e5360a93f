using P2pEmu.Emulator.Topology;

namespace P2pEmu.Emulator.Pci;

/// <summary>Supplies a device model's identity and BARs for an endpoint entry of a topology.</summary>
public interface IEndpointModelFactory
{
    EndpointIdentity Describe(DeviceDescription device);
}
