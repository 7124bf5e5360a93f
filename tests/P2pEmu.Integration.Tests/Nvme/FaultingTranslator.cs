using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Integration.Tests.Nvme;

/// <summary>An IOMMU stand-in: identity-maps every page except [start, end), whose requests fault.</summary>
internal sealed class FaultingTranslator : IRootComplexTranslator
{
    private const ulong PageBytes = 4096;
    private readonly ulong _start;
    private readonly ulong _end;

    public FaultingTranslator(ulong start, ulong end)
    {
        _start = start;
        _end = end;
    }

    public int FaultCount { get; private set; }

    public bool TryTranslate(PciFunction requester, Bdf requesterId, DmaAddress address, AccessKind access, out BusAddress translated, out ulong contiguousBytes)
    {
        contiguousBytes = PageBytes - (address.Value % PageBytes);
        if (address.Value >= _start && address.Value < _end)
        {
            FaultCount++;
            translated = default;
            return false;
        }

        translated = new BusAddress(address.Value);
        return true;
    }
}
