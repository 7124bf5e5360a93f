namespace P2pEmu.Drivers.Nvme;

/// <summary>
/// The driver's own definitions of the NVMe controller registers (NVMe base spec 2.0, §3.1; Linux
/// include/linux/nvme.h <c>NVME_REG_*</c>, <c>NVME_CAP_*</c>, <c>NVME_CC_*</c>, <c>NVME_CSTS_*</c>, <c>NVME_CMB*</c>).
/// </summary>
internal static class NvmeReg
{
    public const uint Cap = 0x00;
    public const uint Vs = 0x08;
    public const uint Cc = 0x14;
    public const uint Csts = 0x1C;
    public const uint Aqa = 0x24;
    public const uint Asq = 0x28;
    public const uint Acq = 0x30;
    public const uint Cmbloc = 0x38;
    public const uint Cmbsz = 0x3C;
    public const uint Cmbmsc = 0x50;

    /// <summary>The first doorbell: queue y's SQ tail is at 1000h + (2y × stride), its CQ head one stride later.</summary>
    public const uint Dbs = 0x1000;

    public const uint CcEnable = 1;
    public const uint CcCssNvm = 0 << 4;
    public const uint CcMpsShift = 7;
    public const uint CcArbRr = 0 << 11;
    public const uint CcShnNormal = 1 << 14;
    public const uint CcShnMask = 3 << 14;
    public const uint CcIosqes = 6 << 16;
    public const uint CcIocqes = 4 << 20;

    public const uint CstsRdy = 1;
    public const uint CstsCfs = 1 << 1;
    public const uint CstsShstMask = 3 << 2;
    public const uint CstsShstCmplt = 2 << 2;

    public const uint CmbszSqs = 1 << 0;
    public const uint CmbszCqs = 1 << 1;
    public const uint CmbszLists = 1 << 2;
    public const uint CmbszRds = 1 << 3;
    public const uint CmbszWds = 1 << 4;

    public const ulong CmbmscCre = 1;
    public const ulong CmbmscCmse = 1 << 1;

    /// <summary>CAP.MQES: maximum queue entries, 0-based.</summary>
    public static uint CapMqes(ulong cap) => (uint)(cap & 0xFFFF);

    /// <summary>CAP.TO: worst-case ready time in 500 ms units.</summary>
    public static uint CapTimeout(ulong cap) => (uint)((cap >> 24) & 0xFF);

    /// <summary>CAP.DSTRD: doorbell stride is 4 &lt;&lt; DSTRD bytes.</summary>
    public static int CapStride(ulong cap) => (int)((cap >> 32) & 0xF);

    /// <summary>CAP.CSS bit 0: the NVM command set.</summary>
    public static bool CapCssNvm(ulong cap) => ((cap >> 37) & 1) != 0;

    /// <summary>CAP.MPSMIN: smallest memory page size, 4 KiB &lt;&lt; MPSMIN.</summary>
    public static int CapMpsMin(ulong cap) => (int)((cap >> 48) & 0xF);

    /// <summary>CAP.CMBS: the controller supports CMBLOC/CMBSZ enabling through CMBMSC.</summary>
    public static bool CapCmbs(ulong cap) => ((cap >> 57) & 1) != 0;

    /// <summary>CMBSZ.SZU: the size unit, 4 KiB × 16^SZU.</summary>
    public static ulong CmbSizeUnit(uint cmbsz) => 1UL << (12 + (4 * (int)((cmbsz >> 8) & 0xF)));

    /// <summary>CMBSZ.SZ: the size in units.</summary>
    public static ulong CmbSizeUnits(uint cmbsz) => cmbsz >> 12;

    /// <summary>CMBLOC.OFST: the offset into the BAR in size units.</summary>
    public static ulong CmbOffsetUnits(uint cmbloc) => cmbloc >> 12;

    /// <summary>CMBLOC.BIR: the BAR holding the CMB.</summary>
    public static int CmbBir(uint cmbloc) => (int)(cmbloc & 7);
}
