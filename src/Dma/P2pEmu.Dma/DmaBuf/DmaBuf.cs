using System.Collections.Generic;
using System.Threading;
using P2pEmu.Dma.Userspace;

namespace P2pEmu.Dma.DmaBuf;

/// <summary>
/// Linux <c>struct dma_buf</c>: a buffer an exporter shares through a file. Its size is fixed; its reservation
/// object guards the attachment list and carries the fences; references are references to its <see cref="File"/>.
/// Created by <see cref="DmaBufHost.DmaBufExport"/>.
/// </summary>
public sealed class DmaBuf
{
    private readonly Lock _lock = new();
    private readonly List<DmaBufCpuMapping> _cpuMappings = new();

    // Copy on write: readers (the notify loop) take the current array without a lock or a copy.
    private DmaBufAttachment[] _attachments = System.Array.Empty<DmaBufAttachment>();
    private static long s_nextIno;
    private DmaBufMmapFile? _mmapFile;
    private int _released;

    internal DmaBuf(DmaBufHost host, DmaBufExportInfo info, DmaBufOps ops, DmaResv resv)
    {
        Host = host;
        ExpName = info.ExpName;
        Ops = ops;
        Size = info.Size;
        Priv = info.Priv!;
        Resv = resv;
        File = new OpenFile(DmaBufFileOps.Instance, this, info.Flags);
        Ino = Interlocked.Increment(ref s_nextIno);
    }

    /// <summary>The buffer's file as address spaces map it (<c>mmap(2)</c> of its fd).</summary>
    internal DmaBufMmapFile MmapFile => _mmapFile ??= new DmaBufMmapFile(this);

    /// <summary>The inode number of the buffer's file, unique in the process (what <c>/sys/kernel/debug/dma_buf/bufinfo</c> lists).</summary>
    public long Ino { get; }

    public DmaBufHost Host { get; }

    /// <summary><c>exp_name</c>: who exported it.</summary>
    public string ExpName { get; }

    public DmaBufOps Ops { get; }

    /// <summary><c>size</c> in bytes, fixed for the buffer's lifetime.</summary>
    public ulong Size { get; }

    /// <summary><c>priv</c>: the exporter's object.</summary>
    public object Priv { get; }

    /// <summary><c>resv</c>: the reservation object (the buffer's own, or the exporter's shared one).</summary>
    public DmaResv Resv { get; }

    /// <summary><c>file</c>: the buffer's anonymous file; its reference count is the buffer's.</summary>
    public OpenFile File { get; }

    /// <summary><c>dma_buf_is_dynamic</c>: the exporter can pin, so it may move the buffer while unpinned.</summary>
    public bool IsDynamic => Ops.Pin is not null;

    /// <summary>True once the last reference went away and the exporter's release ran.</summary>
    public bool IsReleased => Volatile.Read(ref _released) != 0;

    /// <summary>The attachments, newest first (a snapshot; Linux guards the list with the reservation lock).</summary>
    public IReadOnlyList<DmaBufAttachment> Attachments => System.Array.AsReadOnly(Volatile.Read(ref _attachments));

    /// <summary>Device mappings made through <c>dma_buf_map_attachment</c> and not yet unmapped, over all attachments.</summary>
    public int MappedTables
    {
        get
        {
            int mapped = 0;
            foreach (DmaBufAttachment attachment in Volatile.Read(ref _attachments))
            {
                mapped += attachment.MappedTables;
            }

            return mapped;
        }
    }

    /// <summary>CPU mappings (<c>mmap</c> of the buffer's file) not yet unmapped.</summary>
    public IReadOnlyList<DmaBufCpuMapping> CpuMappings
    {
        get
        {
            lock (_lock)
            {
                return _cpuMappings.ToArray();
            }
        }
    }

    public override string ToString() => $"dma-buf {ExpName} ({Size} bytes)";

    /// <summary>The attachments as an array, for loops that must not allocate.</summary>
    internal DmaBufAttachment[] AttachmentArray => Volatile.Read(ref _attachments);

    internal void AddAttachment(DmaBufAttachment attachment)
    {
        lock (_lock)
        {
            DmaBufAttachment[] current = _attachments;
            var next = new DmaBufAttachment[current.Length + 1];
            next[0] = attachment;
            current.CopyTo(next, 1);
            Volatile.Write(ref _attachments, next);
        }
    }

    internal void RemoveAttachment(DmaBufAttachment attachment)
    {
        lock (_lock)
        {
            DmaBufAttachment[] current = _attachments;
            int at = System.Array.IndexOf(current, attachment);
            if (at < 0)
            {
                return;
            }

            var next = new DmaBufAttachment[current.Length - 1];
            System.Array.Copy(current, 0, next, 0, at);
            System.Array.Copy(current, at + 1, next, at, current.Length - at - 1);
            Volatile.Write(ref _attachments, next);
        }
    }

    internal void AddCpuMapping(DmaBufCpuMapping mapping)
    {
        lock (_lock)
        {
            _cpuMappings.Add(mapping);
        }
    }

    internal bool RemoveCpuMapping(DmaBufCpuMapping mapping)
    {
        lock (_lock)
        {
            return _cpuMappings.Remove(mapping);
        }
    }

    internal bool MarkReleased() => Interlocked.Exchange(ref _released, 1) == 0;
}
