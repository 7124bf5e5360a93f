namespace P2pEmu.Emulator.Devices.Nvme;

/// <summary>
/// One piece of a command's data buffer, in transfer order: <see cref="LengthBytes"/> at a DMA address, or (for a
/// Bit Bucket) bytes the controller skips without a transaction.
/// </summary>
internal readonly record struct NvmeDataPiece(ulong Address, int LengthBytes, bool Discard);
