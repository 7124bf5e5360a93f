using System.Globalization;

namespace P2pEmu.Emulator.Addressing;

/// <summary>
/// A CPU physical address (Linux <c>phys_addr_t</c>). A host bridge may place bus addresses at an
/// offset from CPU addresses; a P2P provider records that offset.
/// </summary>
public readonly record struct PhysAddress(ulong Value)
{
    public override string ToString() => "0x" + Value.ToString("x", CultureInfo.InvariantCulture);
}
