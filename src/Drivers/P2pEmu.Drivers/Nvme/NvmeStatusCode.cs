using P2pEmu.Dma.Block;

namespace P2pEmu.Drivers.Nvme;

/// <summary>
/// NVMe completion status values as the driver keeps them (Linux <c>NVME_SC_*</c>): the status field without the
/// phase tag — Status Code in bits 7:0, Status Code Type in 10:8, Do Not Retry in bit 14 — and
/// <see cref="NvmeErrorStatus"/>, the mapping to a block status.
/// </summary>
public static class NvmeStatusCode
{
    public const ushort Success = 0x000;
    public const ushort InvalidOpcode = 0x001;
    public const ushort InvalidField = 0x002;
    public const ushort CmdIdConflict = 0x003;
    public const ushort DataXferError = 0x004;
    public const ushort InternalError = 0x006;
    public const ushort AbortRequested = 0x007;
    public const ushort InvalidNs = 0x00B;
    public const ushort SglInvalidLast = 0x00D;
    public const ushort SglInvalidCount = 0x00E;
    public const ushort SglInvalidData = 0x00F;
    public const ushort SglInvalidType = 0x011;
    public const ushort CmbInvalidUse = 0x012;
    public const ushort PrpInvalidOffset = 0x013;
    public const ushort SglInvalidGranularity = 0x01E;
    public const ushort CmdInterrupted = 0x021;
    public const ushort LbaRange = 0x080;
    public const ushort CapExceeded = 0x081;
    public const ushort NsNotReady = 0x082;
    public const ushort CqInvalid = 0x100;
    public const ushort QidInvalid = 0x101;
    public const ushort QueueSize = 0x102;
    public const ushort QueueDeleteInvalid = 0x10C;
    public const ushort BadAttributes = 0x180;
    public const ushort OncsNotSupported = 0x183;
    public const ushort HostAbortedCmd = 0x371;

    /// <summary>The Status Code Type and Status Code (<c>status &amp; 0x7ff</c>).</summary>
    public const ushort CodeMask = 0x7FF;

    /// <summary><c>NVME_STATUS_DNR</c>: Do Not Retry.</summary>
    public const ushort Dnr = 0x4000;

    /// <summary>
    /// Linux <c>nvme_error_status</c>: the block status for an NVMe status field. Deviation: the statuses Linux maps
    /// to MEDIUM, PROTECTION, RESV_CONFLICT and TRANSPORT (media and protection-information errors, reservations,
    /// host path errors) are not modelled and fall to <see cref="BlkStatus.IoErr"/> with every other code.
    /// </summary>
    public static BlkStatus NvmeErrorStatus(ushort status) => (status & CodeMask) switch
    {
        Success => BlkStatus.Ok,
        CapExceeded => BlkStatus.NoSpc,
        LbaRange or CmdInterrupted or NsNotReady => BlkStatus.Target,
        BadAttributes or OncsNotSupported or InvalidOpcode or InvalidField or InvalidNs => BlkStatus.NotSupp,
        _ => BlkStatus.IoErr,
    };
}
