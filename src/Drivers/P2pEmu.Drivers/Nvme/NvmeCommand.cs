using System.Runtime.InteropServices;

namespace P2pEmu.Drivers.Nvme;

/// <summary>
/// Linux <c>struct nvme_command</c>: a 64-byte submission queue entry in the common command format (NVMe base spec
/// 2.0). The driver builds these itself; it shares no type with the controller model.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct NvmeCommand
{
    /// <summary>Size of a submission queue entry (CC.IOSQES = 6).</summary>
    public const int SizeBytes = 64;

    public byte Opcode;

    /// <summary>FUSE (bits 1:0) and PSDT (bits 7:6; 0 = PRPs).</summary>
    public byte Flags;

    /// <summary>The command identifier: the request's tag with a generation counter in the top 4 bits.</summary>
    public ushort CommandId;

    public uint Nsid;

    public uint Cdw2;

    public uint Cdw3;

    /// <summary>The metadata pointer.</summary>
    public ulong Metadata;

    /// <summary>Data pointer: PRP entry 1.</summary>
    public ulong Prp1;

    /// <summary>Data pointer: PRP entry 2, or a PRP list pointer.</summary>
    public ulong Prp2;

    public uint Cdw10;

    public uint Cdw11;

    public uint Cdw12;

    public uint Cdw13;

    public uint Cdw14;

    public uint Cdw15;
}
