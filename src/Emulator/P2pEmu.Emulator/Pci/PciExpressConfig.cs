namespace P2pEmu.Emulator.Pci;

/// <summary>PCI Express capability layout (version 2), relative to the capability's offset; Linux PCI_EXP_* names.</summary>
public static class PciExpressConfig
{
    public const int Length = 0x3C;
    public const int Flags = 0x02;
    public const int DevCap = 0x04;
    public const int DevCtl = 0x08;
    public const int DevSta = 0x0A;
    public const int LnkCap = 0x0C;
    public const int LnkCtl = 0x10;
    public const int LnkSta = 0x12;
    public const int SltCap = 0x14;
    public const int SltCtl = 0x18;
    public const int SltSta = 0x1A;
    public const int RootCtl = 0x1C;
    public const int RootCap = 0x1E;
    public const int RootSta = 0x20;
    public const int DevCap2 = 0x24;
    public const int DevCtl2 = 0x28;
    public const int LnkCap2 = 0x2C;
    public const int LnkCtl2 = 0x30;

    public const ushort FlagsVersion2 = 0x0002;
    public const ushort FlagsSlotImplemented = 0x0100;

    /// <summary>Device Capabilities 2: ARI Forwarding Supported.</summary>
    public const uint DevCap2Ari = 0x0000_0020;

    /// <summary>Device Control 2: ARI Forwarding Enable.</summary>
    public const ushort DevCtl2Ari = 0x0020;

    public const int LnkCapPortNumberShift = 24;
}
