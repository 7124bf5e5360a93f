using System;

namespace P2pEmu.Iommu.Hardware;

/// <summary>Access permissions of an IOMMU mapping (Linux <c>IOMMU_READ</c>/<c>IOMMU_WRITE</c>, same bit values).</summary>
[Flags]
public enum IommuProt
{
    /// <summary>No access; not a valid mapping permission.</summary>
    None = 0,

    /// <summary>The device may read (DMA from memory).</summary>
    Read = 1,

    /// <summary>The device may write (DMA to memory).</summary>
    Write = 2,

    /// <summary>Both.</summary>
    ReadWrite = Read | Write,
}
