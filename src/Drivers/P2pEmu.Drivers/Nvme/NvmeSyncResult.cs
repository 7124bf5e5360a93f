using P2pEmu.Emulator.Host;

namespace P2pEmu.Drivers.Nvme;

/// <summary>
/// What a synchronous admin command returned (Linux <c>__nvme_submit_sync_cmd</c>: a negative errno, a positive
/// NVMe status, or 0): <paramref name="Error"/> when no completion came, else the status field and DW0.
/// </summary>
public readonly record struct NvmeSyncResult(Errno Error, ushort Status, uint Result)
{
    /// <summary>Completed with status 0.</summary>
    public bool IsSuccess => Error == Errno.None && Status == 0;
}
