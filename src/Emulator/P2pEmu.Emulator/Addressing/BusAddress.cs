using System.Globalization;

namespace P2pEmu.Emulator.Addressing;

/// <summary>
/// A PCI bus address: what BARs and bridge windows are programmed with, and what the root complex
/// decodes after translation (host RAM or a peer BAR). Linux: <c>pci_bus_address()</c>.
/// </summary>
public readonly record struct BusAddress(ulong Value)
{
    public BusAddress Add(ulong bytes) => new(checked(Value + bytes));

    /// <summary>The same number as a wire address: what a device emits when the host chose BUS_ADDR.</summary>
    public DmaAddress AsDmaAddress() => new(Value);

    public override string ToString() => "0x" + Value.ToString("x", CultureInfo.InvariantCulture);
}
