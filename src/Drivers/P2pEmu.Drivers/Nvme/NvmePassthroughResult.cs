using P2pEmu.Dma.Block;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Drivers.Nvme;

/// <summary>
/// What a passthrough command returned (Linux <c>nvme_submit_user_cmd</c>): the NVMe status field and completion
/// DW0, and the block status the request ended with.
/// </summary>
/// <param name="Status">The completion's status field without the phase tag (0: success, or no completion).</param>
/// <param name="Result">Completion DW0.</param>
/// <param name="BlkStatus">How the request ended (<see cref="NvmeStatusCode.NvmeErrorStatus"/> of the status, or why it never reached the device).</param>
public readonly record struct NvmePassthroughResult(ushort Status, uint Result, BlkStatus BlkStatus)
{
    /// <summary><c>blk_status_to_errno</c> of <see cref="BlkStatus"/>.</summary>
    public Errno Errno => BlkErrors.BlkStatusToErrno(BlkStatus);

    /// <summary>Status Code Type and Status Code (<c>status &amp; 0x7ff</c>).</summary>
    public ushort Code => (ushort)(Status & NvmeStatusCode.CodeMask);

    /// <summary>The Do Not Retry bit.</summary>
    public bool DoNotRetry => (Status & NvmeStatusCode.Dnr) != 0;
}
