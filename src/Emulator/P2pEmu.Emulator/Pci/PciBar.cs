using System;
using P2pEmu.Emulator.Memory;
using P2pEmu.Emulator.Registers;

namespace P2pEmu.Emulator.Pci;

/// <summary>One memory BAR of an endpoint: its size and type, what backs it, and the address software gave it.</summary>
public sealed class PciBar
{
    internal PciBar(PciEndpoint owner, int index, ulong sizeBytes, bool is64Bit, bool prefetchable, BarRegion? memory, IMmioHandler? mmio)
    {
        if (sizeBytes < 16 || (sizeBytes & (sizeBytes - 1)) != 0)
        {
            throw new ArgumentException($"BAR{index} of {owner.Name}: size {sizeBytes} is not a power of two of at least 16 bytes.", nameof(sizeBytes));
        }

        Owner = owner;
        Index = index;
        SizeBytes = sizeBytes;
        Is64Bit = is64Bit;
        Prefetchable = prefetchable;
        Memory = memory;
        Mmio = mmio;
    }

    public PciEndpoint Owner { get; }

    public int Index { get; }

    public ulong SizeBytes { get; }

    public bool Is64Bit { get; }

    public bool Prefetchable { get; }

    /// <summary>The memory behind a memory BAR; null for a register BAR.</summary>
    public BarRegion? Memory { get; }

    /// <summary>The registers behind a register BAR; null for a memory BAR.</summary>
    public IMmioHandler? Mmio { get; }

    /// <summary>The bus address the BAR decodes, as programmed.</summary>
    public ulong Address { get; internal set; }

    /// <summary>True when the function decodes this BAR: memory space enabled and an address assigned.</summary>
    public bool Decoding { get; internal set; }

    public bool Contains(ulong address) => Decoding && unchecked(address - Address) < SizeBytes;

    public override string ToString() => $"{Owner.Name} BAR{Index} [0x{Address:x}+0x{SizeBytes:x}]";
}
