namespace P2pEmu.Emulator.Topology;

/// <summary>An ACS extended capability as the kernel reads it: capability bits, control bits, egress control vector.</summary>
public sealed record AcsDescription(AcsFlags Capability, AcsFlags Control, uint EgressVector)
{
    /// <summary>Number of valid bits in the egress control vector (ACS Capability bits 15:8; 0 means 256).</summary>
    public int EgressVectorBits { get; init; } = 32;
}
