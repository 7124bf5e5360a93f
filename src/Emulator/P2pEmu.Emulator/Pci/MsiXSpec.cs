namespace P2pEmu.Emulator.Pci;

/// <summary>
/// The MSI-X capability a device model asks for in its <see cref="EndpointIdentity"/>: how many vectors, and where
/// the table and Pending Bit Array sit (BAR index and QWORD-aligned offset). The model puts a working table there,
/// e.g. an <see cref="MsiXTable"/> in that BAR's register block.
/// </summary>
/// <param name="TableSize">Number of vectors, 1 to 2048.</param>
/// <param name="TableBar">BAR index of the table.</param>
/// <param name="TableOffset">Offset of the table in that BAR (multiple of 8).</param>
/// <param name="PbaBar">BAR index of the Pending Bit Array.</param>
/// <param name="PbaOffset">Offset of the Pending Bit Array in that BAR (multiple of 8).</param>
public sealed record MsiXSpec(int TableSize, int TableBar, uint TableOffset, int PbaBar, uint PbaOffset);
