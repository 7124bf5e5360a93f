namespace P2pEmu.Emulator.Registers;

/// <summary>
/// A register BAR whose registers are all reserved: reads return zero and writes are ignored, as
/// hardware treats reserved offsets inside a claimed BAR.
/// </summary>
public sealed class ReservedRegisterSpace : IMmioHandler
{
    public ulong Read(ulong offset, int sizeBytes) => 0;

    public void Write(ulong offset, int sizeBytes, ulong value)
    {
    }
}
