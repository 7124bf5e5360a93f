namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>A checked piece of a message in a memory key: an SGE after its lkey passed, or the RETH range of a request.</summary>
internal readonly record struct NicSegment(NicMkey Mkey, ulong Va, ulong Length);
