namespace P2pEmu.Emulator.Fabric;

/// <summary>
/// An MSI message (Linux <c>struct msi_msg</c>): the address and data a device writes to raise one interrupt. On
/// x86 the address is in the MSI window, 0xFEE0_0000 | destination APIC ID (bits 19:12); the data's bits 7:0 are
/// the vector and bits 10:8 the delivery mode (000b fixed).
/// </summary>
/// <param name="Address">The message address a device writes.</param>
/// <param name="Data">The 32-bit message data.</param>
public readonly record struct MsiMsg(ulong Address, uint Data)
{
    /// <summary>Bits 31:0 of the address (Linux <c>address_lo</c>), for an MSI-X table's Message Address.</summary>
    public uint AddressLo => unchecked((uint)Address);

    /// <summary>Bits 63:32 of the address (Linux <c>address_hi</c>), for an MSI-X table's Message Upper Address.</summary>
    public uint AddressHi => (uint)(Address >> 32);

    /// <summary>The destination APIC ID the address names.</summary>
    public int DestinationId => (int)((Address >> 12) & 0xFF);

    /// <summary>The interrupt vector the data names.</summary>
    public int Vector => (int)(Data & 0xFF);

    public override string ToString() => $"MSI 0x{Address:x}/0x{Data:x} (APIC {DestinationId}, vector 0x{Vector:x2})";
}
