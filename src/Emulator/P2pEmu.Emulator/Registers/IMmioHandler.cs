namespace P2pEmu.Emulator.Registers;

/// <summary>
/// A register BAR's behaviour: what a memory read or write at an offset into the BAR does. Accesses are
/// naturally aligned and 1, 2, 4 or 8 bytes wide; the fabric splits larger transfers.
/// </summary>
/// <remarks>
/// Implementations never throw for a guest access: an unimplemented offset reads as zero (reserved) or
/// all-ones (unclaimed) and ignores writes, as hardware does.
/// </remarks>
public interface IMmioHandler
{
    ulong Read(ulong offset, int sizeBytes);

    void Write(ulong offset, int sizeBytes, ulong value);
}
