namespace P2pEmu.Iommu.IovaAllocator;

/// <summary>Construction options of a <see cref="DmaIommuCookie"/>: the domain geometry and the kernel policy switches.</summary>
public sealed class DmaIommuCookieOptions
{
    /// <summary>
    /// IOVA page size (Linux: the smallest page size of the domain's <c>pgsize_bitmap</c>); a power of two no larger
    /// than 4096. Defaults to 4096.
    /// </summary>
    public ulong GranuleBytes { get; init; } = IovaDomain.MaxGranuleBytes;

    /// <summary>Lowest usable IOVA (Linux: <c>geometry.aperture_start</c>). The base pfn is at least 1 regardless.</summary>
    public ulong ApertureStart { get; init; }

    /// <summary>
    /// When set, the domain forces its aperture (Linux: <c>geometry.force_aperture</c>) and every DMA limit is
    /// clamped to this last usable IOVA.
    /// </summary>
    public ulong? ApertureEnd { get; init; }

    /// <summary>The device's bus DMA limit (Linux: <c>dev->bus_dma_limit</c>); 0 means none.</summary>
    public ulong BusDmaLimit { get; init; }

    /// <summary>Linux's <c>iommu.forcedac=1</c>: PCI devices never try below 4 GiB first.</summary>
    public bool ForceDac { get; init; }

    /// <summary>
    /// Newer kernels stop trying below 4 GiB first once such an attempt has failed (Linux clears
    /// <c>pci_32bit_workaround</c>); older kernels try it on every allocation. Defaults to true (newer).
    /// </summary>
    public bool DropFailed32BitAttempt { get; init; } = true;

    /// <summary>Options of the underlying <see cref="IovaDomain"/> (cache model, CPU count); null for the defaults.</summary>
    public IovaDomainOptions? Domain { get; init; }
}
