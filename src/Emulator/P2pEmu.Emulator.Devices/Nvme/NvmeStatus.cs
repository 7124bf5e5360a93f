namespace P2pEmu.Emulator.Devices.Nvme;

/// <summary>
/// A completion status: Status Code Type in bits 10:8 and Status Code in bits 7:0
/// (NVMe base spec 2.0, "Status Field"). <see cref="Success"/> is zero.
/// </summary>
public enum NvmeStatus : ushort
{
    /// <summary>Successful Completion (SCT 0, SC 00h).</summary>
    Success = 0x000,

    /// <summary>Invalid Command Opcode (SCT 0, SC 01h).</summary>
    InvalidOpcode = 0x001,

    /// <summary>Invalid Field in Command (SCT 0, SC 02h).</summary>
    InvalidField = 0x002,

    /// <summary>Data Transfer Error (SCT 0, SC 04h): a DMA of command data failed.</summary>
    DataTransferError = 0x004,

    /// <summary>Invalid Namespace or Format (SCT 0, SC 0Bh).</summary>
    InvalidNamespace = 0x00B,

    /// <summary>Invalid SGL Segment Descriptor (SCT 0, SC 0Dh): a (Last) Segment descriptor of a bad length, or one inside a last segment.</summary>
    InvalidSglSegmentDescriptor = 0x00D,

    /// <summary>Invalid Number of SGL Descriptors (SCT 0, SC 0Eh): a (Last) Segment descriptor that is not its segment's last descriptor.</summary>
    InvalidSglDescriptorCount = 0x00E,

    /// <summary>Data SGL Length Invalid (SCT 0, SC 0Fh): the data SGL describes fewer or more bytes than the command transfers.</summary>
    DataSglLengthInvalid = 0x00F,

    /// <summary>SGL Descriptor Type Invalid (SCT 0, SC 11h): a descriptor type or sub type the controller does not support.</summary>
    SglDescriptorTypeInvalid = 0x011,

    /// <summary>Invalid Use of Controller Memory Buffer (SCT 0, SC 12h): an SGL segment in the CMB, which CMBSZ.LISTS does not allow.</summary>
    InvalidUseOfControllerMemoryBuffer = 0x012,

    /// <summary>Invalid PRP Offset (SCT 0, SC 13h): a PRP entry after the first is not page aligned, or PRP1 is not dword aligned.</summary>
    InvalidPrpOffset = 0x013,

    /// <summary>SGL Data Block Granularity Invalid (SCT 0, SC 1Eh): a Data Block's address or length is not dword granular when SGLS requires it.</summary>
    SglDataBlockGranularityInvalid = 0x01E,

    /// <summary>LBA Out of Range (SCT 0, SC 80h).</summary>
    LbaOutOfRange = 0x080,

    /// <summary>Completion Queue Invalid (SCT 1, SC 00h).</summary>
    CompletionQueueInvalid = 0x100,

    /// <summary>Invalid Queue Identifier (SCT 1, SC 01h).</summary>
    InvalidQueueId = 0x101,

    /// <summary>Invalid Queue Size (SCT 1, SC 02h).</summary>
    InvalidQueueSize = 0x102,

    /// <summary>Invalid Interrupt Vector (SCT 1, SC 08h): Create I/O Completion Queue named a vector the function does not have.</summary>
    InvalidInterruptVector = 0x108,

    /// <summary>Invalid Queue Deletion (SCT 1, SC 0Ch): a CQ still has SQs bound to it.</summary>
    InvalidQueueDeletion = 0x10C,
}
