using System;

namespace P2pEmu.Drivers.Vfio;

/// <summary>How the emulated vfio-pci driver behaves beyond what the kernel profile says.</summary>
public sealed record VfioPciOptions
{
    /// <summary>The variant driver provides <c>get_dmabuf_phys</c> (vfio-pci does); false makes the feature EOPNOTSUPP.</summary>
    public bool SupportsDmaBuf { get; init; } = true;

    /// <summary>
    /// revoke-2026: how long a revoke waits for importers to unmap after invalidating them. The final series waits
    /// forever; its earlier versions waited one second and WARNed, which is what happens here on timeout (the wait
    /// ends, the broken importer is recorded).
    /// </summary>
    public TimeSpan RevokeUnmapTimeout { get; init; } = TimeSpan.FromSeconds(1);
}
