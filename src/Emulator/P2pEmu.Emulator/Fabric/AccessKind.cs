namespace P2pEmu.Emulator.Fabric;

/// <summary>Direction of a memory transaction, seen from the requester.</summary>
public enum AccessKind : byte
{
    Read,
    Write,
}
