using System.Collections.Generic;

namespace P2pEmu.Emulator.Topology;

/// <summary>A switch port (upstream or downstream).</summary>
public sealed record PortDescription(
    string Name,
    AcsDescription? Acs,
    IReadOnlyList<DeviceDescription> Children,
    string JsonPath)
{
    public ushort? VendorId { get; init; }

    public ushort? DeviceId { get; init; }

    /// <summary>A fixed secondary bus number (from an lspci dump); null lets enumeration number it.</summary>
    public int? SecondaryBus { get; init; }

    /// <summary>A fixed device number on the switch's internal bus (from an lspci dump).</summary>
    public PciSlot? Slot { get; init; }
}
