namespace P2pEmu.Emulator.Topology;

/// <summary>The topology's <c>platform</c>: the CPU (for Linux's AMD Zen P2P rule), the kernel profile, host RAM.</summary>
public sealed record PlatformDescription(CpuVendor CpuVendor, int CpuFamily, KernelProfile Kernel, ulong RamBytes)
{
    /// <summary>Host RAM when the file does not say: 1 GiB, committed lazily.</summary>
    public const ulong DefaultRamBytes = 1UL << 30;

    /// <summary>
    /// Linux <c>iommu.strict=1</c> (topology <c>"iommuStrict": true</c>): every DMA-API unmap invalidates the IOTLB at
    /// once. False, the default as on x86 kernels (<c>CONFIG_IOMMU_DEFAULT_DMA_LAZY</c>), defers the invalidations to a
    /// flush queue flushed in batches.
    /// </summary>
    public bool IommuStrict { get; init; }

    public static PlatformDescription Default { get; } = new(CpuVendor.Intel, 6, KernelProfile.Linux619, DefaultRamBytes);
}
