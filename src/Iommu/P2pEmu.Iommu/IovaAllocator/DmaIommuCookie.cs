using System;
using System.Collections.Generic;
using System.Numerics;
using System.Threading;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Iommu.Hardware;

namespace P2pEmu.Iommu.IovaAllocator;

/// <summary>
/// The IOVA side of a DMA-API IOMMU domain: Linux's <c>struct iommu_dma_cookie</c> with the allocation policy of
/// <c>iommu_dma_alloc_iova</c> and the reservations of <c>iova_reserve_iommu_regions</c> /
/// <c>iova_reserve_pci_windows</c> (spec §6.5). It owns an <see cref="IovaDomain"/> whose base pfn is at least 1, so
/// IOVA 0 is never handed out and stays free to mean failure.
/// </summary>
/// <remarks>
/// <para>
/// Thread safety: as <see cref="IovaDomain"/>; every member may be called from any thread.
/// <see cref="Pci32BitWorkaround"/> is a plain flag that any allocator may clear, as in Linux.
/// </para>
/// <para>
/// Deviations from Linux: the 32-bit-first flag lives here, per domain, where Linux keeps it per device
/// (<c>dev->iommu</c>); give each device its own cookie to model that. Frees go straight to the rcache
/// (<see cref="IommuDmaFreeIova(Iova, ulong)"/>, strict) or wait in the flush queue (<see cref="QueueIova"/>, lazy).
/// The gaps between a host bridge's <c>dma_ranges</c> are not reserved: the
/// fabric describes none.
/// </para>
/// </remarks>
public sealed partial class DmaIommuCookie : IDisposable
{
    /// <summary>First byte of the x86 MSI window (an IOMMU reserved region).</summary>
    public const ulong MsiWindowBase = 0xFEE0_0000;

    /// <summary>Size of the x86 MSI window: 0xFEE0_0000 to 0xFEEF_FFFF.</summary>
    public const ulong MsiWindowSizeBytes = 0x10_0000;

    /// <summary>Linux <c>DMA_BIT_MASK(32)</c>.</summary>
    private const ulong DmaBitMask32 = 0xFFFF_FFFF;

    private readonly ulong? _apertureEnd;
    private readonly ulong _busDmaLimit;
    private readonly bool _dropFailed32BitAttempt;
    private static long s_nextId;
    private bool _pci32BitWorkaround; // Linux: dev->iommu->pci_32bit_workaround; cleared racily, read with Volatile

    /// <summary>Linux <c>iommu_get_dma_cookie</c> plus <c>iommu_dma_init_domain</c>: a domain from pfn max(1, aperture start).</summary>
    /// <param name="options">Geometry and policy; null for a 4 KiB granule, no aperture and newer-kernel policy.</param>
    /// <exception cref="ArgumentException">The granule is not a power of two no larger than 4096, or a domain option is out of range.</exception>
    public DmaIommuCookie(DmaIommuCookieOptions? options = null)
    {
        options ??= new DmaIommuCookieOptions();
        ulong granule = options.GranuleBytes;
        if (!BitOperations.IsPow2(granule) || granule > IovaDomain.MaxGranuleBytes)
        {
            throw new ArgumentException($"The IOVA granule must be a power of two no larger than {IovaDomain.MaxGranuleBytes}; got {granule}.", nameof(options));
        }

        int shift = BitOperations.Log2(granule);
        ulong basePfn = Math.Max(1, options.ApertureStart >> shift);
        Domain = new IovaDomain(granule, basePfn, options.Domain);
        Id = Interlocked.Increment(ref s_nextId);
        _apertureEnd = options.ApertureEnd;
        _busDmaLimit = options.BusDmaLimit;
        _dropFailed32BitAttempt = options.DropFailed32BitAttempt;
        _pci32BitWorkaround = !options.ForceDac;
    }

    /// <summary>The IOVA domain the cookie allocates from.</summary>
    public IovaDomain Domain { get; }

    /// <summary>A number unique in the process, naming the cookie in <c>P2pEmu.Iommu</c> IOVA events.</summary>
    public long Id { get; }

    /// <summary>
    /// Whether PCI devices still try below 4 GiB first: true unless <see cref="DmaIommuCookieOptions.ForceDac"/>,
    /// and cleared by the first failed 32-bit attempt when <see cref="DmaIommuCookieOptions.DropFailed32BitAttempt"/>.
    /// </summary>
    public bool Pci32BitWorkaround => Volatile.Read(ref _pci32BitWorkaround);

    /// <summary>
    /// Linux <c>iommu_dma_alloc_iova</c> on the calling thread's CPU; see
    /// <see cref="IommuDmaAllocIova(ulong, ulong, bool, int)"/>.
    /// </summary>
    public Iova IommuDmaAllocIova(ulong sizeBytes, ulong dmaLimit, bool isPci) =>
        IommuDmaAllocIova(sizeBytes, dmaLimit, isPci, Domain.CurrentCpu);

    /// <summary>
    /// Linux <c>iommu_dma_alloc_iova</c>: <c>iova_len = size &gt;&gt; shift</c>; the limit is the smaller of
    /// <paramref name="dmaLimit"/> and the bus DMA limit, clamped to a forced aperture; a PCI device whose limit is
    /// above 4 GiB first tries below 4 GiB without flushing the rcache, then the full limit with a flush.
    /// </summary>
    /// <param name="sizeBytes">Bytes to map: a non-zero multiple of the granule (Linux callers align it first).</param>
    /// <param name="dmaLimit">The device's DMA mask: the highest IOVA it can address; not zero.</param>
    /// <param name="isPci">Whether the device is a PCI device (Linux <c>dev_is_pci</c>).</param>
    /// <param name="cpu">The CPU whose rcache is used, 0 to <see cref="IovaDomain.CpuCount"/> - 1.</param>
    /// <returns>The IOVA, or <c>Iova(0)</c> when the space is exhausted (Linux returns 0).</returns>
    /// <exception cref="ArgumentException"><paramref name="sizeBytes"/> is 0 or not a multiple of the granule.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dmaLimit"/> is 0 or <paramref name="cpu"/> is out of range.</exception>
    public Iova IommuDmaAllocIova(ulong sizeBytes, ulong dmaLimit, bool isPci, int cpu)
    {
        CheckSize(sizeBytes);
        ArgumentOutOfRangeException.ThrowIfZero(dmaLimit);
        int shift = Domain.Shift;
        ulong iovaLen = sizeBytes >> shift;

        if (_busDmaLimit != 0)
        {
            dmaLimit = Math.Min(dmaLimit, _busDmaLimit);
        }

        if (_apertureEnd is ulong apertureEnd)
        {
            dmaLimit = Math.Min(dmaLimit, apertureEnd);
        }

        ulong pfn = 0;
        if (dmaLimit > DmaBitMask32 && isPci && Volatile.Read(ref _pci32BitWorkaround))
        {
            pfn = Domain.AllocIovaFast(iovaLen, DmaBitMask32 >> shift, flushRcache: false, cpu);
            if (pfn == 0 && _dropFailed32BitAttempt)
            {
                Volatile.Write(ref _pci32BitWorkaround, false); // Linux: dev_notice "Using %d-bit DMA addresses"
            }
        }

        if (pfn == 0)
        {
            pfn = Domain.AllocIovaFast(iovaLen, dmaLimit >> shift, flushRcache: true, cpu);
        }

        IommuEventSource log = IommuEventSource.Log;
        if (log.IsEnabled())
        {
            log.IovaAlloc(Id, (long)(pfn << shift), (long)sizeBytes);
        }

        return new Iova(pfn << shift);
    }

    /// <summary>Linux <c>iommu_dma_free_iova</c> on the calling thread's CPU; see <see cref="IommuDmaFreeIova(Iova, ulong, int)"/>.</summary>
    public void IommuDmaFreeIova(Iova iova, ulong sizeBytes) => IommuDmaFreeIova(iova, sizeBytes, Domain.CurrentCpu);

    /// <summary>
    /// Linux <c>iommu_dma_free_iova</c> in strict mode: <c>free_iova_fast(iova_pfn(iova), size &gt;&gt; shift)</c>.
    /// </summary>
    /// <param name="iova">An IOVA returned by <see cref="IommuDmaAllocIova(ulong, ulong, bool, int)"/>.</param>
    /// <param name="sizeBytes">The size it was allocated with.</param>
    /// <param name="cpu">The CPU whose rcache receives it.</param>
    /// <exception cref="ArgumentException">
    /// <paramref name="sizeBytes"/> is 0 or not granule-aligned, or (with verification on) the IOVA is not allocated.
    /// </exception>
    public void IommuDmaFreeIova(Iova iova, ulong sizeBytes, int cpu)
    {
        CheckSize(sizeBytes);
        int shift = Domain.Shift;
        Domain.FreeIovaFast(iova.Value >> shift, sizeBytes >> shift, cpu);
        IommuEventSource log = IommuEventSource.Log;
        if (log.IsEnabled())
        {
            log.IovaFree(Id, (long)iova.Value, (long)sizeBytes);
        }
    }

    /// <summary>Reserves the x86 MSI window, 0xFEE0_0000 to 0xFEEF_FFFF (an IOMMU reserved region of type MSI).</summary>
    /// <returns>The range now covering the window's top.</returns>
    public IovaRange? ReserveMsiWindow() => ReserveRegion(MsiWindowBase, MsiWindowSizeBytes);

    /// <summary>
    /// Linux <c>iova_reserve_iommu_regions</c> for one region: reserves every IOVA page that overlaps
    /// [<paramref name="start"/>, <paramref name="start"/> + <paramref name="lengthBytes"/>).
    /// </summary>
    /// <returns>The range now covering the region's last page, or null when it lies beyond the address space.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lengthBytes"/> is 0 or the region wraps.</exception>
    public IovaRange? ReserveRegion(ulong start, ulong lengthBytes)
    {
        ArgumentOutOfRangeException.ThrowIfZero(lengthBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(lengthBytes - 1, ulong.MaxValue - start, nameof(lengthBytes));
        int shift = Domain.Shift;
        return Domain.ReserveIova(start >> shift, (start + lengthBytes - 1) >> shift);
    }

    /// <summary>
    /// The window half of Linux <c>iova_reserve_pci_windows</c>, for every window given: reserves each host-bridge
    /// MEM window (as bus addresses) so that no IOVA equals a peer's MMIO address, which a switch would route as
    /// peer-to-peer instead of sending up to the IOMMU. Empty windows (<see cref="AddressRange.IsEmpty"/>) are skipped.
    /// </summary>
    /// <param name="windows">Bus-address windows, e.g. every host bridge's <see cref="HostBridge.Memory32Window"/> and <see cref="HostBridge.Memory64Window"/>.</param>
    /// <returns>How many windows were reserved.</returns>
    public int ReserveHostBridgeWindows(IEnumerable<AddressRange> windows)
    {
        ArgumentNullException.ThrowIfNull(windows);
        int reserved = 0;
        foreach (AddressRange window in windows)
        {
            if (window.IsEmpty)
            {
                continue;
            }

            if (ReserveRegion(window.Base, window.SizeBytes) is not null)
            {
                reserved++;
            }
        }

        return reserved;
    }

    /// <summary>Reserves one host bridge's 32-bit and 64-bit MEM windows (Linux: the device's own bridge).</summary>
    /// <returns>How many windows were reserved (empty ones are skipped).</returns>
    public int ReserveHostBridgeWindows(HostBridge hostBridge)
    {
        ArgumentNullException.ThrowIfNull(hostBridge);
        return ReserveHostBridgeWindows([hostBridge.Memory32Window, hostBridge.Memory64Window]);
    }

    /// <summary>Linux <c>iommu_put_dma_cookie</c>: stops the flush queue (freeing the page-table pages still queued) and disposes the domain.</summary>
    public void Dispose()
    {
        FreeFlushQueues();
        Domain.Dispose();
    }

    private void CheckSize(ulong sizeBytes)
    {
        if (sizeBytes == 0 || (sizeBytes & (Domain.GranuleBytes - 1)) != 0)
        {
            throw new ArgumentException($"The size must be a non-zero multiple of the {Domain.GranuleBytes}-byte granule; got 0x{sizeBytes:x}.", nameof(sizeBytes));
        }
    }
}
