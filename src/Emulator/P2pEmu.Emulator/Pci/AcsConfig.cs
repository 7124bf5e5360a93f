namespace P2pEmu.Emulator.Pci;

/// <summary>ACS extended capability layout, relative to the capability header.</summary>
public static class AcsConfig
{
    public const int Capability = 0x04;
    public const int Control = 0x06;
    public const int EgressVector = 0x08;
}
