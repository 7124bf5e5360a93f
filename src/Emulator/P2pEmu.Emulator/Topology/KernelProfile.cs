namespace P2pEmu.Emulator.Topology;

/// <summary>Which kernel behaviour the host side follows (topology <c>platform.kernel</c>).</summary>
public enum KernelProfile
{
    /// <summary>"6.19": <c>move_notify</c>; vfio pin fails with EOPNOTSUPP.</summary>
    Linux619,

    /// <summary>"revoke-2026": <c>invalidate_mappings</c>, revocable attachments, revoke waits for every unmap.</summary>
    Revoke2026,
}
