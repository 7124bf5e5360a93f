using System;
using P2pEmu.Dma.Mapping;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Dma.DmaBuf;

/// <summary>
/// Linux <c>struct dma_buf_ops</c>: the exporter's callbacks. A missing op is null, as in C, and means what it means
/// there (no <see cref="Pin"/>: the buffer is not dynamic; no <see cref="Mmap"/>: <c>dma_buf_mmap</c> fails).
/// <see cref="MapDmaBuf"/>, <see cref="UnmapDmaBuf"/> and <see cref="Release"/> are required, and <see cref="Pin"/>
/// and <see cref="Unpin"/> come together (<c>dma_buf_export</c> checks both).
/// </summary>
/// <remarks>
/// Locking convention (spec §5.6): <see cref="Attach"/>, <see cref="Detach"/>, <see cref="Release"/>,
/// <see cref="BeginCpuAccess"/>, <see cref="EndCpuAccess"/> and <see cref="Mmap"/> are called without the
/// reservation lock (the exporter may take it); <see cref="Pin"/>, <see cref="Unpin"/>, <see cref="MapDmaBuf"/> and
/// <see cref="UnmapDmaBuf"/> are called with it held (the exporter must not take it: it would get EDEADLK).
/// </remarks>
public sealed record DmaBufOps
{
    /// <summary><c>attach</c>: accept or refuse an attachment (EBUSY: "incompatible placement").</summary>
    public Func<DmaBuf, DmaBufAttachment, Errno>? Attach { get; init; }

    /// <summary><c>detach</c>.</summary>
    public Action<DmaBuf, DmaBufAttachment>? Detach { get; init; }

    /// <summary><c>pin</c>: keep the buffer where it is until unpinned.</summary>
    public Func<DmaBufAttachment, Errno>? Pin { get; init; }

    /// <summary><c>unpin</c>.</summary>
    public Action<DmaBufAttachment>? Unpin { get; init; }

    /// <summary>
    /// <c>map_dma_buf</c>: a new table of DMA addresses valid for the attachment's device. A successful result with a
    /// null table stands for Linux's NULL return (the core turns it into ENOMEM).
    /// </summary>
    public Func<DmaBufAttachment, DmaDirection, Result<SgTable>>? MapDmaBuf { get; init; }

    /// <summary><c>unmap_dma_buf</c>.</summary>
    public Action<DmaBufAttachment, SgTable, DmaDirection>? UnmapDmaBuf { get; init; }

    /// <summary><c>release</c>: the last reference to the buffer went away.</summary>
    public Action<DmaBuf>? Release { get; init; }

    /// <summary><c>mmap</c>: set up a CPU mapping (typically by installing a fault handler).</summary>
    public Func<DmaBuf, DmaBufCpuMapping, Errno>? Mmap { get; init; }

    /// <summary><c>begin_cpu_access</c>.</summary>
    public Func<DmaBuf, DmaDirection, Errno>? BeginCpuAccess { get; init; }

    /// <summary><c>end_cpu_access</c>.</summary>
    public Func<DmaBuf, DmaDirection, Errno>? EndCpuAccess { get; init; }
}
