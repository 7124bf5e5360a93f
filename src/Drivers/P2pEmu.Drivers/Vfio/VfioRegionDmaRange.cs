using System.Runtime.InteropServices;

namespace P2pEmu.Drivers.Vfio;

/// <summary><c>struct vfio_region_dma_range</c>: a page-aligned range of a BAR, by offset into it.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct VfioRegionDmaRange
{
    public ulong Offset;

    public ulong Length;
}
