using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Iommu.Hardware;

namespace P2pEmu.Dma.Mapping;

/// <summary>
/// The DMA mapping API of one machine (kernel/dma/mapping.c): <c>dma_map_phys</c>/<c>dma_map_page</c>,
/// <c>dma_map_sgtable</c>, their unmaps, and the phys-based two-step IOVA API
/// (<c>dma_iova_try_alloc</c>/<c>link</c>/<c>sync</c>/<c>destroy</c>). Each device maps through dma-direct or
/// through its IOMMU domain, as its host bridge's IOMMU mode says.
/// </summary>
public sealed class DmaApi
{
    /// <summary>Linux <c>DMA_MAPPING_ERROR</c>.</summary>
    public static readonly DmaAddress DmaMappingError = new(ulong.MaxValue);

    private readonly ConcurrentDictionary<PciFunction, DmaDevice> _devices = new();
    private readonly DmaDirectOps _direct;
    private readonly Func<PciFunction, IDmaOps?>? _iommuOps;

    /// <summary>A DMA API with dma-direct for every device (no IOMMU translates).</summary>
    public DmaApi(PcieFabric fabric, P2pDmaHost p2p)
        : this(fabric, p2p, (Func<PciFunction, IDmaOps?>?)null)
    {
    }

    /// <summary>
    /// A DMA API over the machine's IOMMUs: devices behind a translating IOMMU map through their group's
    /// default DMA domain (created and attached on first use); the others use dma-direct.
    /// </summary>
    /// <param name="iommuStrict">Linux <c>iommu.strict</c>: true makes every unmap invalidate the IOTLB at once; false (the
    /// x86 default) defers the invalidations to a flush queue per domain, flushed in batches.</param>
    /// <param name="flushQueueTimeout">The flush queues' timer (null: Linux's 10 ms); <see cref="System.Threading.Timeout.InfiniteTimeSpan"/>
    /// flushes only full queues, which keeps a run independent of wall-clock time.</param>
    public DmaApi(PcieFabric fabric, P2pDmaHost p2p, IEnumerable<IommuUnit> iommus, bool iommuStrict = false, TimeSpan? flushQueueTimeout = null)
        : this(fabric, p2p, new IommuDefaultDomains(fabric, p2p, iommus ?? throw new ArgumentNullException(nameof(iommus)), iommuStrict, flushQueueTimeout).OpsFor)
    {
    }

    internal DmaApi(PcieFabric fabric, P2pDmaHost p2p, Func<PciFunction, IDmaOps?>? iommuOps)
    {
        ArgumentNullException.ThrowIfNull(fabric);
        ArgumentNullException.ThrowIfNull(p2p);
        Fabric = fabric;
        P2p = p2p;
        _direct = new DmaDirectOps(p2p);
        _iommuOps = iommuOps;
    }

    public PcieFabric Fabric { get; }

    public P2pDmaHost P2p { get; }

    /// <summary>
    /// The kernel's page allocator that <see cref="DmaAllocCoherent"/> takes its pages from; null when the machine
    /// gives this API none (then coherent allocation is not available).
    /// </summary>
    public HostPageAllocator? Pages { get; init; }

    /// <summary><c>dma_mapping_error</c>.</summary>
    public static bool IsMappingError(DmaAddress address) => address == DmaMappingError;

    /// <summary>The DMA view of a PCI function (created on first use, as a device is probed).</summary>
    public DmaDevice GetDevice(PciFunction pci)
    {
        ArgumentNullException.ThrowIfNull(pci);
        return _devices.GetOrAdd(pci, static (p, api) => new DmaDevice(p, api.OpsFor(p), api), this);
    }

    /// <summary><c>dma_map_phys</c>: a DMA address for [phys, phys + size), or <see cref="DmaMappingError"/>.</summary>
    public DmaAddress DmaMapPhys(DmaDevice dev, PhysAddress phys, ulong size, DmaDirection dir, DmaAttrs attrs = DmaAttrs.None)
    {
        Own(dev);
        ArgumentOutOfRangeException.ThrowIfZero(size);
        return dev.Ops.MapPhys(dev, phys, size, dir, attrs);
    }

    /// <summary><c>dma_unmap_phys</c>.</summary>
    public void DmaUnmapPhys(DmaDevice dev, DmaAddress address, ulong size, DmaDirection dir, DmaAttrs attrs = DmaAttrs.None)
    {
        Own(dev);
        dev.Ops.UnmapPhys(dev, address, size, dir, attrs);
    }

    /// <summary>
    /// <c>dma_map_sgtable</c>: None, EREMOTEIO (a P2P segment the device cannot reach; retrying will not help),
    /// EIO or ENOMEM (mapping failed), EINVAL (bad table). On failure nothing stays mapped.
    /// </summary>
    public Errno DmaMapSgtable(DmaDevice dev, SgTable sgt, DmaDirection dir, DmaAttrs attrs = DmaAttrs.None)
    {
        Own(dev);
        ArgumentNullException.ThrowIfNull(sgt);
        if (sgt.OrigNents == 0 || dir == DmaDirection.None)
        {
            return Errno.EINVAL;
        }

        return dev.Ops.MapSg(dev, sgt, dir, attrs);
    }

    /// <summary><c>dma_unmap_sgtable</c>: bus-address (BUS_ADDR) segments are skipped and unmarked.</summary>
    public void DmaUnmapSgtable(DmaDevice dev, SgTable sgt, DmaDirection dir, DmaAttrs attrs = DmaAttrs.None)
    {
        Own(dev);
        ArgumentNullException.ThrowIfNull(sgt);
        dev.Ops.UnmapSg(dev, sgt, dir, attrs);
    }

    /// <summary>
    /// <c>dma_alloc_coherent</c>: zeroed, physically contiguous host pages (at least <paramref name="size"/> bytes,
    /// naturally aligned) that the CPU and the device both see without syncs, mapped for the device in both
    /// directions — through its IOMMU domain when it translates, by physical address with dma-direct.
    /// </summary>
    /// <param name="dmaHandle">The address the device uses; <see cref="DmaMappingError"/> on failure.</param>
    /// <returns>The CPU (physical) address of the buffer, or 0 when no pages are left or the mapping failed.</returns>
    /// <exception cref="InvalidOperationException">No <see cref="Pages"/> allocator was given to this API.</exception>
    public PhysAddress DmaAllocCoherent(DmaDevice dev, ulong size, out DmaAddress dmaHandle)
    {
        Own(dev);
        ArgumentOutOfRangeException.ThrowIfZero(size);
        HostPageAllocator pages = Pages ?? throw new InvalidOperationException("This DMA API has no page allocator for coherent memory.");
        dmaHandle = DmaMappingError;
        int order = HostPageAllocator.OrderForBytes(size);
        if (order > HostPageAllocator.MaxOrder)
        {
            return default;
        }

        Result<ulong> block = pages.AllocPages(order);
        if (!block.IsSuccess)
        {
            return default;
        }

        var phys = new PhysAddress(block.Value);
        DmaAddress address = dev.Ops.MapPhys(dev, phys, HostPageAllocator.PageSize << order, DmaDirection.Bidirectional, DmaAttrs.None);
        if (IsMappingError(address))
        {
            pages.FreePages(block.Value, order);
            return default;
        }

        dmaHandle = address;
        return phys;
    }

    /// <summary><c>dma_free_coherent</c>: unmaps and frees a buffer from <see cref="DmaAllocCoherent"/> (same size).</summary>
    /// <exception cref="InvalidOperationException">No <see cref="Pages"/> allocator was given to this API.</exception>
    /// <exception cref="ArgumentException">The buffer is not an allocated block of that size (a double free).</exception>
    public void DmaFreeCoherent(DmaDevice dev, ulong size, PhysAddress cpuAddress, DmaAddress dmaHandle)
    {
        Own(dev);
        ArgumentOutOfRangeException.ThrowIfZero(size);
        HostPageAllocator pages = Pages ?? throw new InvalidOperationException("This DMA API has no page allocator for coherent memory.");
        int order = HostPageAllocator.OrderForBytes(size);
        dev.Ops.UnmapPhys(dev, dmaHandle, HostPageAllocator.PageSize << order, DmaDirection.Bidirectional, DmaAttrs.None);
        pages.FreePages(cpuAddress.Value, order);
    }

    /// <summary><c>dma_iova_try_alloc</c>: a contiguous IOVA window of <paramref name="size"/> bytes; false without an IOMMU (then map with <see cref="DmaMapPhys"/>).</summary>
    public bool DmaIovaTryAlloc(DmaDevice dev, DmaIovaState state, PhysAddress phys, ulong size)
    {
        Own(dev);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentOutOfRangeException.ThrowIfZero(size);
        return dev.Ops.IovaTryAlloc(dev, state, phys, size);
    }

    /// <summary><c>dma_iova_link</c>: maps [phys, phys + size) at <paramref name="offset"/> into the window.</summary>
    public Errno DmaIovaLink(DmaDevice dev, DmaIovaState state, PhysAddress phys, ulong offset, ulong size, DmaDirection dir, DmaAttrs attrs = DmaAttrs.None)
    {
        Own(dev);
        ArgumentNullException.ThrowIfNull(state);
        return dev.Ops.IovaLink(dev, state, phys, offset, size, dir, attrs);
    }

    /// <summary><c>dma_iova_sync</c>: makes linked ranges visible to the device (flushes the IOTLB where needed).</summary>
    public Errno DmaIovaSync(DmaDevice dev, DmaIovaState state, ulong offset, ulong size)
    {
        Own(dev);
        ArgumentNullException.ThrowIfNull(state);
        return dev.Ops.IovaSync(dev, state, offset, size);
    }

    /// <summary><c>dma_iova_unlink</c>.</summary>
    public void DmaIovaUnlink(DmaDevice dev, DmaIovaState state, ulong offset, ulong size, DmaDirection dir, DmaAttrs attrs = DmaAttrs.None)
    {
        Own(dev);
        ArgumentNullException.ThrowIfNull(state);
        dev.Ops.IovaUnlink(dev, state, offset, size, dir, attrs);
    }

    /// <summary><c>dma_iova_destroy</c>: unlinks <paramref name="mappedLength"/> bytes and frees the window.</summary>
    public void DmaIovaDestroy(DmaDevice dev, DmaIovaState state, ulong mappedLength, DmaDirection dir, DmaAttrs attrs = DmaAttrs.None)
    {
        Own(dev);
        ArgumentNullException.ThrowIfNull(state);
        if (mappedLength != 0)
        {
            dev.Ops.IovaUnlink(dev, state, 0, mappedLength, dir, attrs);
        }

        dev.Ops.IovaFree(dev, state);
    }

    /// <summary><c>dma_iova_free</c>: frees a window with nothing linked.</summary>
    public void DmaIovaFree(DmaDevice dev, DmaIovaState state)
    {
        Own(dev);
        ArgumentNullException.ThrowIfNull(state);
        dev.Ops.IovaFree(dev, state);
    }

    /// <summary>
    /// Misuse check: the device must come from this API (<see cref="GetDevice"/>). A device records the API that made
    /// it, and only the instance <see cref="GetDevice"/> stored is ever handed out, so this is the same as looking it up.
    /// </summary>
    private void Own(DmaDevice dev)
    {
        ArgumentNullException.ThrowIfNull(dev);
        if (!ReferenceEquals(dev.Api, this))
        {
            throw new ArgumentException($"{dev} was not obtained from this DMA API.", nameof(dev));
        }
    }

    private IDmaOps OpsFor(PciFunction pci) =>
        pci.HostBridge.Iommu == IommuMode.Translate && _iommuOps?.Invoke(pci) is IDmaOps ops ? ops : _direct;
}
