namespace P2pEmu.Dma.DmaBuf;

/// <summary>
/// Linux <c>struct dma_buf_export_info</c>: what an exporter hands <c>dma_buf_export</c>. A null
/// <see cref="Resv"/> gives the buffer its own reservation object.
/// </summary>
public sealed record DmaBufExportInfo(string ExpName, DmaBufOps? Ops, ulong Size, object? Priv)
{
    /// <summary>File flags of the buffer's file (<c>O_RDWR</c>, <c>O_CLOEXEC</c>, ...).</summary>
    public int Flags { get; init; }

    /// <summary>An exporter's own reservation object, shared with its other buffers; null for a private one.</summary>
    public DmaResv? Resv { get; init; }
}
