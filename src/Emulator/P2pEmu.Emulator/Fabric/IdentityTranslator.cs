using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Emulator.Fabric;

/// <summary>No IOMMU (or passthrough): the address on the wire is the bus address.</summary>
public sealed class IdentityTranslator : IRootComplexTranslator
{
    public static IdentityTranslator Instance { get; } = new();

    public bool TryTranslate(PciFunction requester, Bdf requesterId, DmaAddress address, AccessKind access, out BusAddress translated, out ulong contiguousBytes)
    {
        translated = new BusAddress(address.Value);
        contiguousBytes = ulong.MaxValue;
        return true;
    }
}
