using System.Runtime.InteropServices;

namespace P2pEmu.Drivers.Vfio;

/// <summary>
/// <c>struct vfio_device_feature_dma_buf</c>: the data of <c>VFIO_DEVICE_FEATURE_DMA_BUF</c>; <see cref="NrRanges"/>
/// <see cref="VfioRegionDmaRange"/>s follow it.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct VfioDeviceFeatureDmaBuf
{
    /// <summary>The BAR.</summary>
    public uint RegionIndex;

    /// <summary>Flags of the new file and descriptor (<c>O_CLOEXEC</c>, <c>O_RDWR</c>).</summary>
    public uint OpenFlags;

    /// <summary>Must be 0.</summary>
    public uint Flags;

    public uint NrRanges;
}
