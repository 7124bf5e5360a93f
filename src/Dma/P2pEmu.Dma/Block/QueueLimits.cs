using System;

namespace P2pEmu.Dma.Block;

/// <summary>
/// Linux <c>struct queue_limits</c>, the part the emulated block layer honours: sizes, segment rules, DMA alignment
/// and the queue's features. A driver fills one in when it creates a disk.
/// </summary>
public sealed record QueueLimits
{
    /// <summary><c>logical_block_size</c>: the smallest unit the device addresses (512 to 4096 bytes, a power of two).</summary>
    public uint LogicalBlockSize { get; init; } = BlockGeometry.SectorSize;

    /// <summary><c>max_hw_sectors</c>: the largest request in 512-byte sectors (NVMe: from MDTS).</summary>
    public uint MaxHwSectors { get; init; } = 255;

    /// <summary><c>max_segments</c>: the most DMA segments one request may have.</summary>
    public int MaxSegments { get; init; } = 128;

    /// <summary><c>max_segment_size</c>: the largest single segment.</summary>
    public uint MaxSegmentSize { get; init; } = uint.MaxValue;

    /// <summary>
    /// <c>virt_boundary_mask</c>: when non-zero, every segment but the first must start on this boundary and every
    /// segment but the last must end on it (NVMe PRPs: the controller page size minus one); a bio that breaks the
    /// rule is split there.
    /// </summary>
    public ulong VirtBoundaryMask { get; init; }

    /// <summary><c>dma_alignment</c>: the mask an O_DIRECT buffer address must clear (NVMe: 3, dword aligned).</summary>
    public uint DmaAlignment { get; init; } = 511;

    /// <summary><c>features</c>.</summary>
    public BlkFeatures Features { get; init; }

    /// <summary>The largest request in bytes.</summary>
    public ulong MaxHwBytes => (ulong)MaxHwSectors << BlockGeometry.SectorShift;

    /// <summary>Checks the limits are usable, as <c>blk_validate_limits</c> does.</summary>
    /// <exception cref="ArgumentException">A limit is out of range.</exception>
    public void Validate()
    {
        if (LogicalBlockSize < BlockGeometry.SectorSize || LogicalBlockSize > BlockGeometry.PageSize || (LogicalBlockSize & (LogicalBlockSize - 1)) != 0)
        {
            throw new ArgumentException($"Logical block size {LogicalBlockSize} is not a power of two from 512 to 4096.");
        }

        if (MaxHwSectors < LogicalBlockSize >> BlockGeometry.SectorShift || MaxSegments < 1 || MaxSegmentSize < BlockGeometry.PageSize)
        {
            throw new ArgumentException("max_hw_sectors, max_segments and max_segment_size must allow at least one block in one page.");
        }

        if (VirtBoundaryMask != 0 && (VirtBoundaryMask & (VirtBoundaryMask + 1)) != 0)
        {
            throw new ArgumentException("The virtual boundary mask must be a power of two minus one.");
        }
    }
}
