namespace P2pEmu.Emulator.Pci;

/// <summary>SR-IOV extended capability layout, relative to the capability header; Linux PCI_SRIOV_* names.</summary>
public static class SriovConfig
{
    public const int Length = 0x40;
    public const int Cap = 0x04;
    public const int Ctrl = 0x08;
    public const int Status = 0x0A;
    public const int InitialVf = 0x0C;
    public const int TotalVf = 0x0E;
    public const int NumVf = 0x10;
    public const int FunctionLink = 0x12;
    public const int VfOffset = 0x14;
    public const int VfStride = 0x16;
    public const int VfDeviceId = 0x1A;
    public const int SupportedPageSizes = 0x1C;
    public const int SystemPageSize = 0x20;
    public const int VfBar0 = 0x24;

    public const ushort CtrlVfEnable = 0x0001;
    public const ushort CtrlVfMemoryEnable = 0x0008;
    public const ushort CtrlAriHierarchy = 0x0010;
}
