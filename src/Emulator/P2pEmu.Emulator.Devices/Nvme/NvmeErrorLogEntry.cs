using System.Runtime.InteropServices;

namespace P2pEmu.Emulator.Devices.Nvme;

/// <summary>
/// A 64-byte Error Information log entry (Get Log Page LID 01h; NVMe base spec 2.0, "Error Information Log Entry").
/// Bytes 63:42 are reserved and read as zero.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1, Size = 64)]
public struct NvmeErrorLogEntry
{
    /// <summary>Bytes 7:0, a unique, incrementing error count; 0 marks an entry that holds no error.</summary>
    public ulong ErrorCount;

    /// <summary>Bytes 9:8, the submission queue the command came from.</summary>
    public ushort SqId;

    /// <summary>Bytes 11:10, the command identifier.</summary>
    public ushort Cid;

    /// <summary>Bytes 13:12: bit 0 the phase tag posted, bits 15:1 the status field (SC, SCT, CRD, M, DNR) as completed.</summary>
    public ushort StatusField;

    /// <summary>Bytes 15:14: bits 7:0 the byte and bits 10:8 the bit of the command in error; FFFFh when not specific.</summary>
    public ushort ParameterErrorLocation;

    /// <summary>Bytes 23:16, the first LBA that hit the error condition, if any.</summary>
    public ulong Lba;

    /// <summary>Bytes 27:24, the namespace identifier of the command.</summary>
    public uint Nsid;

    /// <summary>Byte 28, Vendor Specific Information Available (always 0).</summary>
    public byte VendorSpecificPage;

    /// <summary>Byte 29, Transport Type (0: PCIe has no transport-specific information here).</summary>
    public byte TransportType;

    /// <summary>Bytes 31:30, reserved.</summary>
    public ushort Reserved30;

    /// <summary>Bytes 39:32, Command Specific Information (always 0).</summary>
    public ulong CommandSpecific;

    /// <summary>Bytes 41:40, Transport Type Specific Information (always 0).</summary>
    public ushort TransportTypeSpecific;
}
