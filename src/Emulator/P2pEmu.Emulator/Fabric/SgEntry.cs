using P2pEmu.Emulator.Addressing;

namespace P2pEmu.Emulator.Fabric;

/// <summary>One scatter-gather segment as a device sees it: a wire address and a length.</summary>
public readonly record struct SgEntry(DmaAddress Address, ulong Length);
