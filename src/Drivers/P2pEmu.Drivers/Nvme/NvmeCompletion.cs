using System.Runtime.InteropServices;

namespace P2pEmu.Drivers.Nvme;

/// <summary>Linux <c>struct nvme_completion</c>: a 16-byte completion queue entry.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct NvmeCompletion
{
    /// <summary>Size of a completion queue entry (CC.IOCQES = 4).</summary>
    public const int SizeBytes = 16;

    /// <summary>DW0, the command specific result.</summary>
    public uint Result;

    public uint Dw1;

    public ushort SqHead;

    public ushort SqId;

    public ushort CommandId;

    /// <summary>Phase tag (bit 0) and the status field (bits 15:1).</summary>
    public ushort Status;

    /// <summary>The phase tag.</summary>
    public readonly bool Phase => (Status & 1) != 0;

    /// <summary>The status field without the phase tag (SC, SCT, CRD, M, DNR), as Linux keeps <c>nvme_req(req)-&gt;status</c>.</summary>
    public readonly ushort StatusField => (ushort)(Status >> 1);
}
