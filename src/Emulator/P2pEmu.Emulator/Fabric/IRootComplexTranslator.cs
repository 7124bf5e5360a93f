using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Emulator.Fabric;

/// <summary>
/// The root complex's translation hook: every request that reaches a host bridge passes through it before
/// the root complex decodes the address. The IOMMU plugs in here; without one, addresses pass unchanged.
/// </summary>
public interface IRootComplexTranslator
{
    /// <summary>Translates a request from <paramref name="requester"/>.</summary>
    /// <param name="requesterId">The requester ID in the request, which selects the domain (the device's own, or a stale or spoofed one).</param>
    /// <param name="contiguousBytes">How many bytes from <paramref name="address"/> translate contiguously (to the page end).</param>
    /// <returns>False on a fault; the translator records it and nothing is accessed.</returns>
    bool TryTranslate(PciFunction requester, Bdf requesterId, DmaAddress address, AccessKind access, out BusAddress translated, out ulong contiguousBytes);
}
