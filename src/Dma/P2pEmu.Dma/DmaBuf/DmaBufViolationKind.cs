namespace P2pEmu.Dma.DmaBuf;

/// <summary>What rule a caller broke (Linux would WARN, splat in lockdep, or hang).</summary>
public enum DmaBufViolationKind
{
    /// <summary>A call that needs the reservation lock was made without holding it (<c>dma_resv_assert_held</c>).</summary>
    LockNotHeld,

    /// <summary>A call that takes or forbids the reservation lock was made while holding it (a self-deadlock in Linux).</summary>
    LockHeld,

    /// <summary>An unlock by a thread that does not hold the lock.</summary>
    UnlockNotOwner,

    /// <summary>A lock wait exceeded <see cref="DmaBufHost.LockTimeout"/> (Linux: a hung task).</summary>
    LockTimeout,

    /// <summary>Export with missing or unpaired exporter ops.</summary>
    BadExporterOps,

    /// <summary>Importer ops without the notify callback the kernel profile requires.</summary>
    BadImporterOps,

    /// <summary><c>dma_buf_pin</c>/<c>unpin</c> on a static attachment.</summary>
    PinStaticAttachment,

    /// <summary>An exporter returned a table that is still mapped.</summary>
    ExporterReusedTable,

    /// <summary>An importer detached while it still had mappings.</summary>
    DetachWithMappings,

    /// <summary>The last reference to a buffer went away while attachments remained.</summary>
    ReleaseWithAttachments,

    /// <summary><c>dma_buf_phys_vec_to_sgt</c> without a provider.</summary>
    NoProvider,

    /// <summary>An importer kept a mapping after a revoking notify (the exporter found mappings left).</summary>
    ImporterKeptMapping,

    /// <summary>An exporter timed out waiting for importers to unmap after a revoke.</summary>
    UnmapTimeout,

    /// <summary>An exporter timed out waiting for a buffer's fences (a device that never completes its work).</summary>
    FenceTimeout,
}
