using System.Collections.Generic;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Integration.Tests.Nvme;

/// <summary>
/// An IOMMU stand-in: identity-maps every page except [start, end), whose requests fault, and records every address it
/// is asked to translate.
/// </summary>
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

    public List<ulong> Requested { get; } = new();

    public bool TryTranslate(PciFunction requester, Bdf requesterId, DmaAddress address, AccessKind access, out BusAddress translated, out ulong contiguousBytes)
    {
        Requested.Add(address.Value);
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
