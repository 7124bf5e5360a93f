using System;
using P2pEmu.Dma.Diagnostics;
using P2pEmu.Dma.Mapping;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Dma.DmaBuf;

/// <content>Attach, detach and pin (spec §5.2, §5.3).</content>
public sealed partial class DmaBufHost
{
    /// <summary>
    /// <c>dma_buf_dynamic_attach</c>: attaches <paramref name="dev"/>. With importer ops the attachment is dynamic and
    /// its <c>peer2peer</c> is the ops' <see cref="DmaBufAttachOps.AllowPeer2Peer"/>. The exporter's <c>attach</c>
    /// runs without the reservation lock and may refuse; then the attachment joins the list under the lock. The core
    /// does not check <c>peer2peer</c>: an exporter of P2P-only memory refuses importers that do not allow it.
    /// </summary>
    /// <returns>
    /// The attachment; the exporter's error (EBUSY: incompatible placement); EINVAL (recorded) for v6.19 importer ops
    /// without <c>move_notify</c>; EDEADLK when the caller holds the buffer's reservation.
    /// </returns>
    public Result<DmaBufAttachment> DmaBufDynamicAttach(DmaBuf dmabuf, DmaDevice dev, DmaBufAttachOps? importerOps, object? importerPriv) =>
        Attach(dmabuf, dev, importerOps, importerPriv, "dma_buf_dynamic_attach");

    /// <summary><c>dma_buf_attach</c>: a static attachment (no importer ops, so no <c>peer2peer</c>).</summary>
    public Result<DmaBufAttachment> DmaBufAttach(DmaBuf dmabuf, DmaDevice dev) => Attach(dmabuf, dev, null, null, "dma_buf_attach");

    /// <summary>
    /// <c>dma_buf_detach</c>: removes the attachment under the reservation lock, then calls the exporter's
    /// <c>detach</c>. Mappings still present are an importer bug (recorded; they stay mapped, as in Linux).
    /// </summary>
    /// <returns>None; EDEADLK (recorded, nothing done) when the caller holds the buffer's reservation.</returns>
    /// <exception cref="ArgumentException">The attachment belongs to another buffer.</exception>
    /// <exception cref="InvalidOperationException">The attachment was already detached.</exception>
    public Errno DmaBufDetach(DmaBuf dmabuf, DmaBufAttachment attach)
    {
        Own(dmabuf);
        Own(attach);
        if (!ReferenceEquals(attach.DmaBuf, dmabuf))
        {
            throw new ArgumentException($"{attach} does not belong to {dmabuf}.", nameof(attach));
        }

        Errno error = dmabuf.Resv.AssertNotHeld("dma_buf_detach");
        if (error != Errno.None)
        {
            return error;
        }

        int mapped = attach.MappedTables;
        if (mapped != 0)
        {
            Violate(DmaBufViolationKind.DetachWithMappings, "dma_buf_detach", $"{attach} detached with {mapped} table(s) still mapped");
        }

        error = dmabuf.Resv.Lock();
        if (error != Errno.None)
        {
            return error;
        }

        dmabuf.RemoveAttachment(attach);
        dmabuf.Resv.Unlock();
        dmabuf.Ops.Detach?.Invoke(dmabuf, attach);
        attach.MarkDetached();
        DmaEventSource log = DmaEventSource.Log;
        if (log.IsEnabled())
        {
            log.DmaBufDetach(dmabuf.Ino, DmaEventSource.RequesterId(attach.Dev.Pci), mapped);
        }

        return Errno.None;
    }

    /// <summary>
    /// <c>dma_buf_unsupported_invalidate_mappings</c>: the callback a pinned importer (RDMA's
    /// <c>ib_umem_dmabuf_get_pinned</c>) installs only to warn if it is ever called. It does not make an attachment
    /// revocable.
    /// </summary>
    public static Action<DmaBufAttachment> UnsupportedInvalidateMappings { get; } =
        attachment => attachment.DmaBuf.Host.Log($"{attachment}: Invalidate callback should not be called when memory is pinned");

    /// <summary>
    /// <c>dma_buf_attach_revocable</c> (revoke-2026): the importer implements invalidation and so unmaps within
    /// bounded time after a notify — it has importer ops with an <see cref="DmaBufAttachOps.InvalidateMappings"/>
    /// other than the <see cref="UnsupportedInvalidateMappings"/> stub.
    /// </summary>
    public bool DmaBufAttachRevocable(DmaBufAttachment attach)
    {
        Own(attach);
        return attach.ImporterOps?.InvalidateMappings is Action<DmaBufAttachment> invalidate
            && !ReferenceEquals(invalidate, UnsupportedInvalidateMappings);
    }

    /// <summary>
    /// <c>dma_buf_pin</c>: the exporter's <c>pin</c>, if it has one (0 otherwise). Needs the reservation lock; meant for
    /// dynamic attachments only (a static one is recorded, as Linux WARNs, and still pinned).
    /// </summary>
    /// <returns>The exporter's answer; ENOLCK (recorded, nothing done) without the reservation lock.</returns>
    public Errno DmaBufPin(DmaBufAttachment attach)
    {
        Own(attach);
        if (!attach.IsDynamic)
        {
            Violate(DmaBufViolationKind.PinStaticAttachment, "dma_buf_pin", $"{attach} is static");
        }

        Errno error = attach.DmaBuf.Resv.AssertHeld("dma_buf_pin");
        if (error != Errno.None)
        {
            return error;
        }

        return attach.DmaBuf.Ops.Pin?.Invoke(attach) ?? Errno.None;
    }

    /// <summary><c>dma_buf_unpin</c>: the exporter's <c>unpin</c>, if any. Needs the reservation lock.</summary>
    /// <returns>None; ENOLCK (recorded, nothing done) without the reservation lock.</returns>
    public Errno DmaBufUnpin(DmaBufAttachment attach)
    {
        Own(attach);
        if (!attach.IsDynamic)
        {
            Violate(DmaBufViolationKind.PinStaticAttachment, "dma_buf_unpin", $"{attach} is static");
        }

        Errno error = attach.DmaBuf.Resv.AssertHeld("dma_buf_unpin");
        if (error != Errno.None)
        {
            return error;
        }

        attach.DmaBuf.Ops.Unpin?.Invoke(attach);
        return Errno.None;
    }

    private Result<DmaBufAttachment> Attach(DmaBuf dmabuf, DmaDevice dev, DmaBufAttachOps? importerOps, object? importerPriv, string function)
    {
        Own(dmabuf);
        ArgumentNullException.ThrowIfNull(dev);
        Errno error = dmabuf.Resv.AssertNotHeld(function);
        if (error != Errno.None)
        {
            return error;
        }

        if (importerOps is not null && importerOps.InvalidateMappings is null && Profile == KernelProfile.Linux619)
        {
            Violate(DmaBufViolationKind.BadImporterOps, function, "importer ops without move_notify");
            return Errno.EINVAL;
        }

        var attach = new DmaBufAttachment(dmabuf, dev, importerOps, importerPriv);
        if (dmabuf.Ops.Attach is { } attachOp)
        {
            error = attachOp(dmabuf, attach);
            if (error != Errno.None)
            {
                return error;
            }
        }

        error = dmabuf.Resv.Lock();
        if (error != Errno.None)
        {
            dmabuf.Ops.Detach?.Invoke(dmabuf, attach);
            return error;
        }

        dmabuf.AddAttachment(attach);
        dmabuf.Resv.Unlock();
        DmaEventSource log = DmaEventSource.Log;
        if (log.IsEnabled())
        {
            log.DmaBufAttach(dmabuf.Ino, DmaEventSource.RequesterId(dev.Pci), importerOps is null ? 0 : 1);
        }

        return Result.Ok(attach);
    }
}
