using P2pEmu.Emulator.Devices.Net;

namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>A cable between two NICs of a machine, by their topology names.</summary>
public sealed record NicLinkInfo(string A, string B, EthernetLink Link);
