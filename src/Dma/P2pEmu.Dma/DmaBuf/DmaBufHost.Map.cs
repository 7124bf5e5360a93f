using System;
using P2pEmu.Dma.Diagnostics;
using P2pEmu.Dma.Mapping;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Dma.DmaBuf;

/// <content>Map, unmap and the notify (spec §5.4, §5.5).</content>
public sealed partial class DmaBufHost
{
    /// <summary>
    /// <c>dma_buf_map_attachment</c>: a new table of DMA addresses for the attachment's device. Needs the reservation
    /// lock. A static importer of a buffer whose exporter can pin is pinned first; a static importer then waits for
    /// the KERNEL fences (a dynamic importer waits for fences itself). The table is the importer's until it unmaps it.
    /// </summary>
    /// <returns>
    /// The table; the exporter's pin or map error (a null table is ENOMEM), after undoing the implicit pin; ETIMEDOUT
    /// when a KERNEL fence stays unsignaled past <see cref="LockTimeout"/>; ENOLCK (recorded, nothing done) without the
    /// reservation lock.
    /// </returns>
    /// <exception cref="InvalidOperationException">The attachment was detached.</exception>
    public Result<SgTable> DmaBufMapAttachment(DmaBufAttachment attach, DmaDirection dir)
    {
        Own(attach);
        DmaBuf dmabuf = attach.DmaBuf;
        Errno error = dmabuf.Resv.AssertHeld("dma_buf_map_attachment");
        if (error != Errno.None)
        {
            return error;
        }

        bool pinOnMap = PinOnMap(attach);
        if (pinOnMap)
        {
            error = dmabuf.Ops.Pin!(attach);
            if (error == Errno.EBUSY)
            {
                Log($"WARNING: dma_buf_map_attachment: {dmabuf.ExpName} made the buffer inaccessible (EBUSY) although attachments exist");
            }

            if (error != Errno.None)
            {
                return error;
            }
        }

        Result<SgTable> mapped = dmabuf.Ops.MapDmaBuf!(attach, dir);
        SgTable? table = mapped.IsSuccess ? mapped.Value : null;
        error = !mapped.IsSuccess ? mapped.Error : table is null ? Errno.ENOMEM : Errno.None;
        if (table is not null && !attach.IsDynamic)
        {
            error = dmabuf.Resv.WaitTimeout(DmaResvUsage.Kernel, true, LockTimeout);
            if (error != Errno.None)
            {
                dmabuf.Ops.UnmapDmaBuf!(attach, table, dir);
            }
        }

        if (error != Errno.None || table is null)
        {
            if (pinOnMap)
            {
                dmabuf.Ops.Unpin!(attach);
            }

            return error;
        }

        if (!attach.AddTable(table))
        {
            Violate(DmaBufViolationKind.ExporterReusedTable, "dma_buf_map_attachment", $"{dmabuf.ExpName} returned a table that is still mapped");
        }

        DmaEventSource log = DmaEventSource.Log;
        if (log.IsEnabled())
        {
            log.DmaBufMap(dmabuf.Ino, DmaEventSource.RequesterId(attach.Dev.Pci), DmaEventSource.MappedBytes(table));
        }

        return Result.Ok(table);
    }

    /// <summary><c>dma_buf_map_attachment_unlocked</c>: takes and drops the reservation lock around the map.</summary>
    /// <returns>As <see cref="DmaBufMapAttachment"/>; EDEADLK (recorded) when the caller already holds the lock.</returns>
    public Result<SgTable> DmaBufMapAttachmentUnlocked(DmaBufAttachment attach, DmaDirection dir)
    {
        Own(attach);
        DmaResv resv = attach.DmaBuf.Resv;
        Errno error = resv.AssertNotHeld("dma_buf_map_attachment_unlocked");
        if (error == Errno.None)
        {
            error = resv.Lock();
        }

        if (error != Errno.None)
        {
            return error;
        }

        try
        {
            return DmaBufMapAttachment(attach, dir);
        }
        finally
        {
            resv.Unlock();
        }
    }

    /// <summary>
    /// <c>dma_buf_unmap_attachment</c>: gives a table back to the exporter, and undoes the implicit pin of a static
    /// importer. Needs the reservation lock.
    /// </summary>
    /// <returns>None; ENOLCK (recorded, nothing done) without the reservation lock.</returns>
    /// <exception cref="ArgumentException"><paramref name="sgt"/> is not a live table of this attachment.</exception>
    public Errno DmaBufUnmapAttachment(DmaBufAttachment attach, SgTable sgt, DmaDirection dir)
    {
        Own(attach);
        ArgumentNullException.ThrowIfNull(sgt);
        DmaBuf dmabuf = attach.DmaBuf;
        Errno error = dmabuf.Resv.AssertHeld("dma_buf_unmap_attachment");
        if (error != Errno.None)
        {
            return error;
        }

        if (!attach.ContainsTable(sgt))
        {
            throw new ArgumentException($"The table is not mapped through {attach} (unmapped twice, or another attachment's).", nameof(sgt));
        }

        attach.RemoveTable(sgt);
        DmaEventSource log = DmaEventSource.Log;
        if (log.IsEnabled())
        {
            log.DmaBufUnmap(dmabuf.Ino, DmaEventSource.RequesterId(attach.Dev.Pci), DmaEventSource.MappedBytes(sgt));
        }

        dmabuf.Ops.UnmapDmaBuf!(attach, sgt, dir);
        if (PinOnMap(attach))
        {
            dmabuf.Ops.Unpin!(attach);
        }

        return Errno.None;
    }

    /// <summary><c>dma_buf_unmap_attachment_unlocked</c>.</summary>
    /// <returns>As <see cref="DmaBufUnmapAttachment"/>; EDEADLK (recorded) when the caller already holds the lock.</returns>
    public Errno DmaBufUnmapAttachmentUnlocked(DmaBufAttachment attach, SgTable sgt, DmaDirection dir)
    {
        Own(attach);
        DmaResv resv = attach.DmaBuf.Resv;
        Errno error = resv.AssertNotHeld("dma_buf_unmap_attachment_unlocked");
        if (error == Errno.None)
        {
            error = resv.Lock();
        }

        if (error != Errno.None)
        {
            return error;
        }

        try
        {
            return DmaBufUnmapAttachment(attach, sgt, dir);
        }
        finally
        {
            resv.Unlock();
        }
    }

    /// <summary>
    /// <c>dma_buf_move_notify</c> (v6.19 name): calls every dynamic importer's notify with the reservation lock held,
    /// which the exporter must hold. Same as <see cref="DmaBufInvalidateMappings"/>.
    /// </summary>
    /// <returns>None; ENOLCK (recorded, nobody notified) when the caller does not hold the reservation lock.</returns>
    public Errno DmaBufMoveNotify(DmaBuf dmabuf) => Notify(dmabuf, "dma_buf_move_notify");

    /// <summary>
    /// <c>dma_buf_invalidate_mappings</c> (revoke-2026 name). When it returns importers may still read the memory
    /// until their fences retire and they unmap; an exporter that must stop all access waits for both
    /// (<see cref="DmaResv.WaitTimeout"/> with BOOKKEEP, then for every unmap). Attachments without the callback
    /// (pinned importers in revoke-2026) are skipped.
    /// </summary>
    /// <returns>None; ENOLCK (recorded, nobody notified) when the caller does not hold the reservation lock.</returns>
    public Errno DmaBufInvalidateMappings(DmaBuf dmabuf) => Notify(dmabuf, "dma_buf_invalidate_mappings");

    /// <summary><c>dma_buf_pin_on_map</c>: the exporter pins and the importer is static.</summary>
    private static bool PinOnMap(DmaBufAttachment attach) => attach.DmaBuf.Ops.Pin is not null && !attach.IsDynamic;

    private Errno Notify(DmaBuf dmabuf, string function)
    {
        Own(dmabuf);
        Errno error = dmabuf.Resv.AssertHeld(function);
        if (error != Errno.None)
        {
            return error;
        }

        DmaBufAttachment[] attachments = dmabuf.AttachmentArray;
        DmaEventSource log = DmaEventSource.Log;
        if (log.IsEnabled())
        {
            log.DmaBufNotify(dmabuf.Ino, attachments.Length, function == "dma_buf_move_notify" ? 0 : 1);
        }

        foreach (DmaBufAttachment attach in attachments)
        {
            attach.ImporterOps?.InvalidateMappings?.Invoke(attach);
        }

        return Errno.None;
    }
}
