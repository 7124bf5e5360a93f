namespace P2pEmu.Emulator.Pci;

/// <summary>Configuration-space register offsets and bits (PCI Local Bus / PCI Express base specifications; Linux pci_regs.h names).</summary>
public static class PciConfig
{
    public const int VendorId = 0x00;
    public const int DeviceId = 0x02;
    public const int Command = 0x04;
    public const int Status = 0x06;
    public const int RevisionId = 0x08;
    public const int ClassProg = 0x09;
    public const int ClassDevice = 0x0A;
    public const int CacheLineSize = 0x0C;
    public const int LatencyTimer = 0x0D;
    public const int HeaderType = 0x0E;
    public const int Bar0 = 0x10;
    public const int SubsystemVendorId = 0x2C;
    public const int SubsystemId = 0x2E;
    public const int CapabilityList = 0x34;
    public const int InterruptLine = 0x3C;
    public const int InterruptPin = 0x3D;

    public const int PrimaryBus = 0x18;
    public const int SecondaryBus = 0x19;
    public const int SubordinateBus = 0x1A;
    public const int SecondaryLatencyTimer = 0x1B;
    public const int IoBase = 0x1C;
    public const int IoLimit = 0x1D;
    public const int SecondaryStatus = 0x1E;
    public const int MemoryBase = 0x20;
    public const int MemoryLimit = 0x22;
    public const int PrefMemoryBase = 0x24;
    public const int PrefMemoryLimit = 0x26;
    public const int PrefBaseUpper32 = 0x28;
    public const int PrefLimitUpper32 = 0x2C;
    public const int BridgeControl = 0x3E;

    public const ushort CommandIo = 0x0001;
    public const ushort CommandMemory = 0x0002;
    public const ushort CommandMaster = 0x0004;
    public const ushort CommandInterruptDisable = 0x0400;

    public const ushort StatusCapList = 0x0010;

    /// <summary>Status bits that are write-one-to-clear (parity, aborts, SERR).</summary>
    public const ushort StatusErrorBits = 0xF900;

    public const byte HeaderTypeNormal = 0x00;
    public const byte HeaderTypeBridge = 0x01;
    public const byte HeaderTypeMultiFunction = 0x80;

    public const uint BarMemTypeMask = 0x06;
    public const uint BarMemType64 = 0x04;
    public const uint BarPrefetch = 0x08;
    public const uint BarMemMask = 0xFFFF_FFF0;

    /// <summary>Bridge memory windows are 1 MiB granular.</summary>
    public const ulong BridgeWindowGranularity = 1UL << 20;

    public const byte CapIdPowerManagement = 0x01;
    public const byte CapIdMsi = 0x05;
    public const byte CapIdExpress = 0x10;
    public const byte CapIdMsiX = 0x11;

    public const int ExtendedCapabilityStart = 0x100;
    public const ushort ExtCapIdAcs = 0x000D;
    public const ushort ExtCapIdAri = 0x000E;
    public const ushort ExtCapIdSriov = 0x0010;
}
