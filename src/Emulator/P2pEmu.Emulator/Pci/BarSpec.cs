using P2pEmu.Emulator.Registers;

namespace P2pEmu.Emulator.Pci;

/// <summary>
/// What a device model puts behind one BAR: plain memory (optionally backed by a file) or registers.
/// </summary>
/// <param name="Mmio">Register behaviour; null makes the BAR plain memory the fabric copies into directly.</param>
public sealed record BarSpec(int Index, ulong SizeBytes, bool Is64Bit, bool Prefetchable, string? BackingPath = null, IMmioHandler? Mmio = null);
