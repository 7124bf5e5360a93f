namespace P2pEmu.Drivers.Rdma;

/// <summary>Where a memory region's pages come from.</summary>
public enum IbMrKind
{
    /// <summary>User pages pinned with <c>pin_user_pages(FOLL_LONGTERM)</c> (<c>ib_umem_get</c>).</summary>
    User,

    /// <summary>A kernel scatter-gather table the ULP mapped (<c>ib_map_mr_sg</c> + REG_MR).</summary>
    Kernel,

    /// <summary>A dma-buf imported dynamically: move_notify zaps the translation, the next access faults it back.</summary>
    DmabufDynamic,

    /// <summary>A dma-buf imported pinned (<c>ib_umem_dmabuf_get_pinned</c>).</summary>
    DmabufPinned,
}
