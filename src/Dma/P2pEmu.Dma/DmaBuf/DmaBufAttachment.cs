using System;
using System.Collections.Generic;
using System.Threading;
using P2pEmu.Dma.Mapping;

namespace P2pEmu.Dma.DmaBuf;

/// <summary>
/// Linux <c>struct dma_buf_attachment</c>: one importer device's use of a buffer. Dynamic when the importer gave
/// ops (<see cref="ImporterOps"/>); <see cref="Peer2Peer"/> is copied from them. The core counts the tables mapped
/// through it, so detaching or revoking with mappings left is caught.
/// </summary>
public sealed class DmaBufAttachment
{
    private readonly Lock _lock = new();
    private readonly HashSet<SgTable> _tables = new();
    private int _detached;

    internal DmaBufAttachment(DmaBuf dmabuf, DmaDevice dev, DmaBufAttachOps? importerOps, object? importerPriv)
    {
        DmaBuf = dmabuf;
        Dev = dev;
        ImporterOps = importerOps;
        ImporterPriv = importerPriv;
        Peer2Peer = importerOps?.AllowPeer2Peer ?? false;
    }

    public DmaBuf DmaBuf { get; }

    /// <summary><c>dev</c>: the importing device, whose DMA addresses the mappings hold.</summary>
    public DmaDevice Dev { get; }

    /// <summary><c>importer_ops</c>; null for a static attachment.</summary>
    public DmaBufAttachOps? ImporterOps { get; }

    /// <summary><c>importer_priv</c>.</summary>
    public object? ImporterPriv { get; }

    /// <summary><c>peer2peer</c>: the importer accepts peer device memory.</summary>
    public bool Peer2Peer { get; }

    /// <summary><c>priv</c>: the exporter's per-attachment data.</summary>
    public object? Priv { get; set; }

    /// <summary><c>dma_buf_attachment_is_dynamic</c>.</summary>
    public bool IsDynamic => ImporterOps is not null;

    /// <summary>Tables mapped through this attachment and not yet unmapped.</summary>
    public int MappedTables
    {
        get
        {
            lock (_lock)
            {
                return _tables.Count;
            }
        }
    }

    /// <summary>True after <c>dma_buf_detach</c>.</summary>
    public bool IsDetached => Volatile.Read(ref _detached) != 0;

    public override string ToString() => $"{DmaBuf.ExpName} attached to {Dev}";

    /// <summary>Records a table handed to the importer; false when that table is already live.</summary>
    internal bool AddTable(SgTable table)
    {
        lock (_lock)
        {
            return _tables.Add(table);
        }
    }

    internal bool ContainsTable(SgTable table)
    {
        lock (_lock)
        {
            return _tables.Contains(table);
        }
    }

    internal void RemoveTable(SgTable table)
    {
        lock (_lock)
        {
            _tables.Remove(table);
        }
    }

    internal void MarkDetached() => Volatile.Write(ref _detached, 1);

    /// <exception cref="InvalidOperationException">The attachment was detached (a use after free in Linux).</exception>
    internal void ThrowIfDetached()
    {
        if (IsDetached)
        {
            throw new InvalidOperationException($"{this} was detached.");
        }
    }
}
