using System.Runtime.InteropServices;

namespace P2pEmu.Emulator.Devices.Nvme;

/// <summary>A 64-byte submission queue entry (NVMe base spec 2.0, figure "Common Command Format").</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct NvmeCommand
{
    /// <summary>CDW0 bits 7:0, the command opcode.</summary>
    public byte Opcode;

    /// <summary>CDW0 bits 15:8: FUSE and PSDT (0 = PRPs).</summary>
    public byte Flags;

    /// <summary>CDW0 bits 31:16, the command identifier echoed in the completion.</summary>
    public ushort Cid;

    /// <summary>CDW1, the namespace identifier.</summary>
    public uint Nsid;

    /// <summary>CDW2–CDW3, command specific.</summary>
    public ulong Cdw2And3;

    /// <summary>CDW4–CDW5, the metadata pointer.</summary>
    public ulong Mptr;

    /// <summary>CDW6–CDW7, PRP entry 1.</summary>
    public ulong Prp1;

    /// <summary>CDW8–CDW9, PRP entry 2 or a PRP list pointer.</summary>
    public ulong Prp2;

    /// <summary>Command dword 10.</summary>
    public uint Cdw10;

    /// <summary>Command dword 11.</summary>
    public uint Cdw11;

    /// <summary>Command dword 12.</summary>
    public uint Cdw12;

    /// <summary>Command dword 13.</summary>
    public uint Cdw13;

    /// <summary>Command dword 14.</summary>
    public uint Cdw14;

    /// <summary>Command dword 15.</summary>
    public uint Cdw15;
}
