namespace P2pEmu.Drivers.Vfio;

/// <summary>The constants of <c>include/uapi/linux/vfio.h</c> the emulated ioctls use.</summary>
public static class VfioUapi
{
    /// <summary><c>VFIO_DEVICE_FEATURE_MASK</c>: the feature index in <c>flags</c>.</summary>
    public const uint DeviceFeatureMask = 0xFFFF;

    /// <summary><c>VFIO_DEVICE_FEATURE_GET</c>.</summary>
    public const uint DeviceFeatureGet = 1u << 16;

    /// <summary><c>VFIO_DEVICE_FEATURE_SET</c>.</summary>
    public const uint DeviceFeatureSet = 1u << 17;

    /// <summary><c>VFIO_DEVICE_FEATURE_PROBE</c>.</summary>
    public const uint DeviceFeatureProbe = 1u << 18;

    /// <summary><c>VFIO_DEVICE_FEATURE_DMA_BUF</c>: export ranges of a BAR as a dma-buf.</summary>
    public const uint DeviceFeatureDmaBuf = 11;

    /// <summary><c>VFIO_PCI_ROM_REGION_INDEX</c>: region indices below it are BARs.</summary>
    public const uint PciRomRegionIndex = 6;

    /// <summary>
    /// <c>KMALLOC_MAX_SIZE</c> on x86-64 (order-10 pages): the largest range array <c>memdup_array_user</c> copies in;
    /// more ranges fail with ENOMEM.
    /// </summary>
    public const ulong KmallocMaxSize = 4UL << 20;

    /// <summary><c>DMA_IOVA_USE_SWIOTLB</c>: a dma-buf's total length must not have this bit.</summary>
    public const ulong DmaIovaUseSwiotlb = 1UL << 63;

    /// <summary><c>PAGE_SIZE</c>.</summary>
    public const ulong PageSize = 4096;
}
