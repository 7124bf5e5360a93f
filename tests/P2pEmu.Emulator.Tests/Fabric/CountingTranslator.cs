using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Emulator.Tests.Fabric;

/// <summary>A root-complex hook that counts what reaches it and can refuse everything (an IOMMU with no mappings).</summary>
internal sealed class CountingTranslator : IRootComplexTranslator
{
    public int Calls { get; private set; }

    public bool Refuse { get; init; }

    public bool TryTranslate(PciFunction requester, Bdf requesterId, DmaAddress address, AccessKind access, out BusAddress translated, out ulong contiguousBytes)
    {
        Calls++;
        translated = new BusAddress(address.Value);
        contiguousBytes = ulong.MaxValue;
        return !Refuse;
    }
}
