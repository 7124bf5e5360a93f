using System.Runtime.InteropServices;

namespace P2pEmu.Emulator.Devices.Nvme;

/// <summary>A 16-byte completion queue entry (NVMe base spec 2.0, "Common Completion Queue Entry Layout").</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct NvmeCompletion
{
    /// <summary>DW0, command specific (e.g. the Number of Queues allocated).</summary>
    public uint Dw0;

    /// <summary>DW1, command specific.</summary>
    public uint Dw1;

    /// <summary>SQ Head Pointer: the submission queue head after this command was fetched.</summary>
    public ushort SqHead;

    /// <summary>SQ Identifier the command came from.</summary>
    public ushort SqId;

    /// <summary>The command identifier.</summary>
    public ushort Cid;

    /// <summary>Bit 0 phase tag, bits 8:1 SC, 11:9 SCT, 13:12 CRD, 14 M, 15 DNR.</summary>
    public ushort StatusPhase;

    /// <summary>The phase tag bit.</summary>
    public readonly bool Phase => (StatusPhase & 1) != 0;

    /// <summary>Status Code (SC).</summary>
    public readonly byte StatusCode => unchecked((byte)(StatusPhase >> 1));

    /// <summary>Status Code Type (SCT).</summary>
    public readonly int StatusCodeType => (StatusPhase >> 9) & 7;

    /// <summary>Do Not Retry.</summary>
    public readonly bool DoNotRetry => (StatusPhase & 0x8000) != 0;
}
