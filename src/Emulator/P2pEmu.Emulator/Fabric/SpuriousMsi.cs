namespace P2pEmu.Emulator.Fabric;

/// <summary>A write to the MSI window that raised no interrupt: no allocated vector matches it, or it is not one dword.</summary>
/// <param name="Address">The address written.</param>
/// <param name="Data">The low 32 bits written.</param>
/// <param name="SizeBytes">The width of the write.</param>
public readonly record struct SpuriousMsi(ulong Address, uint Data, int SizeBytes);
