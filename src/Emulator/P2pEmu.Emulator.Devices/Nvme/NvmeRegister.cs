namespace P2pEmu.Emulator.Devices.Nvme;

/// <summary>Controller register offsets in BAR0 (NVMe base spec 2.0, "Controller Registers").</summary>
public enum NvmeRegister : uint
{
    /// <summary>Controller Capabilities (64-bit).</summary>
    Cap = 0x00,

    /// <summary>Version.</summary>
    Vs = 0x08,

    /// <summary>Interrupt Mask Set.</summary>
    Intms = 0x0C,

    /// <summary>Interrupt Mask Clear.</summary>
    Intmc = 0x10,

    /// <summary>Controller Configuration.</summary>
    Cc = 0x14,

    /// <summary>Controller Status.</summary>
    Csts = 0x1C,

    /// <summary>Admin Queue Attributes.</summary>
    Aqa = 0x24,

    /// <summary>Admin Submission Queue Base Address (64-bit).</summary>
    Asq = 0x28,

    /// <summary>Admin Completion Queue Base Address (64-bit).</summary>
    Acq = 0x30,

    /// <summary>Controller Memory Buffer Location.</summary>
    Cmbloc = 0x38,

    /// <summary>Controller Memory Buffer Size.</summary>
    Cmbsz = 0x3C,

    /// <summary>Submission Queue 0 Tail Doorbell; queue y's SQ tail is at 1000h + 2y × 4, its CQ head 4 bytes later (DSTRD 0).</summary>
    Sq0Tdbl = 0x1000,
}
