namespace P2pEmu.Emulator.Pci;

/// <summary>
/// MSI-X capability and table layout (PCI Local Bus 3.0 §6.8.2, PCI Express base spec "MSI-X Capability and Table
/// Structure"); Linux pci_regs.h PCI_MSIX_* names.
/// </summary>
public static class MsiXConfig
{
    /// <summary>Size of the capability structure (PCI_CAP_MSIX_SIZEOF).</summary>
    public const int Length = 12;

    /// <summary>Message Control (16 bits).</summary>
    public const int Flags = 0x02;

    /// <summary>Table Offset and Table BIR (32 bits).</summary>
    public const int Table = 0x04;

    /// <summary>PBA Offset and PBA BIR (32 bits).</summary>
    public const int Pba = 0x08;

    /// <summary>Message Control bits 10:0: Table Size, N − 1 (read-only).</summary>
    public const ushort FlagsQsize = 0x07FF;

    /// <summary>Message Control bit 14: Function Mask, masks every vector regardless of its own mask bit.</summary>
    public const ushort FlagsMaskAll = 0x4000;

    /// <summary>Message Control bit 15: MSI-X Enable.</summary>
    public const ushort FlagsEnable = 0x8000;

    /// <summary>Table/PBA register bits 2:0: the BAR indicator register (BAR index).</summary>
    public const uint BirMask = 0x7;

    /// <summary>Table/PBA register bits 31:3: the QWORD-aligned offset into that BAR.</summary>
    public const uint OffsetMask = 0xFFFF_FFF8;

    /// <summary>Most vectors a function may have.</summary>
    public const int MaxVectors = 2048;

    /// <summary>Bytes per table entry (PCI_MSIX_ENTRY_SIZE).</summary>
    public const int EntrySize = 16;

    /// <summary>Entry dword 0: Message Address, bits 31:2 (bits 1:0 read as zero).</summary>
    public const int EntryLowerAddress = 0x0;

    /// <summary>Entry dword 1: Message Upper Address.</summary>
    public const int EntryUpperAddress = 0x4;

    /// <summary>Entry dword 2: Message Data.</summary>
    public const int EntryData = 0x8;

    /// <summary>Entry dword 3: Vector Control.</summary>
    public const int EntryVectorControl = 0xC;

    /// <summary>Vector Control bit 0: Mask Bit (set at reset).</summary>
    public const uint EntryCtrlMaskBit = 0x1;

    /// <summary>Bytes of Pending Bit Array for <paramref name="vectors"/> vectors: whole QWORDs.</summary>
    public static int PbaBytes(int vectors) => ((vectors + 63) / 64) * 8;
}
