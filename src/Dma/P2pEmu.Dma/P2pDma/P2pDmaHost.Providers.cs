using System;
using System.Collections.Concurrent;
using System.Globalization;
using System.Threading;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Dma.P2pDma;

/// <content>
/// Providers and p2pmem (spec §1.3, §1.4, §4.3, §4.4): <c>pcim_p2pdma_init</c>/<c>pcim_p2pdma_provider</c>,
/// <c>pci_p2pdma_add_resource</c> with the page-map checks of <c>memremap_pages</c>, the pool, publishing,
/// the sysfs group, and the configfs enable helpers of spec §2.4.
/// </content>
/// <remarks>
/// Teardown (spec §1.3 step 5) is <see cref="RemoveProvider(PciFunction, System.TimeSpan)"/>; the <c>allocate</c>
/// mmap is <see cref="P2pmemAllocateFile"/>.
/// </remarks>
public sealed partial class P2pDmaHost
{
    /// <summary><c>PCI_STD_NUM_BARS</c>: the BAR indices a provider can have.</summary>
    public const int StdNumBars = 6;

    /// <summary>
    /// The granule <c>memremap_pages</c> demands of a page map's start and size: <c>PAGES_PER_SUBSECTION</c>
    /// (512) pages of 4 KiB, as on x86-64 with SPARSEMEM_VMEMMAP (spec §4.3).
    /// </summary>
    public const ulong SubsectionSizeBytes = 2UL << 20;

    /// <summary>x86-64 <c>MAX_PHYSMEM_BITS</c> with 4-level paging: hot-plugged memory must end below 64 TiB.</summary>
    public const int MaxPhysMemBits = 46;

    /// <summary><c>pdev-&gt;non_mappable_bars</c>, set by quirks: the devices present here have it set.</summary>
    private readonly ConcurrentDictionary<PciFunction, bool> _nonMappableBars = new();

    /// <summary>
    /// <c>pgmap_array</c>: every device's live page maps. Replaced, never changed in place, under <c>_lock</c>,
    /// so <see cref="FindPagemap"/> reads it without the lock, as <c>page_pgmap</c> reads a page's own field.
    /// </summary>
    private P2pPagemap[] _pagemaps = Array.Empty<P2pPagemap>();

    /// <summary>
    /// Sets Linux's <c>pdev-&gt;non_mappable_bars</c> (a quirk: the BARs must not be mapped, so the device can
    /// be neither a P2PDMA provider nor a pgmap owner).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="pdev"/> is null.</exception>
    public void SetNonMappableBars(PciFunction pdev, bool value)
    {
        ArgumentNullException.ThrowIfNull(pdev);
        if (value)
        {
            _nonMappableBars[pdev] = true;
        }
        else
        {
            _nonMappableBars.TryRemove(pdev, out _);
        }
    }

    /// <summary>
    /// Linux <c>pcim_p2pdma_init</c>: creates the device's <see cref="PciP2pdma"/> with one
    /// <see cref="P2pProvider"/> per BAR it has (every BAR of this machine is a memory BAR, register BARs
    /// included) and publishes it. In this machine host bridges apply no offset, so a BAR's CPU physical
    /// address equals its bus address and every provider's <see cref="P2pProvider.BusOffset"/> is 0.
    /// </summary>
    /// <returns>None, also when the state already exists (idempotent); EOPNOTSUPP for a device with
    /// non-mappable BARs (<see cref="SetNonMappableBars"/>).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="pdev"/> is null.</exception>
    public Errno PcimP2pdmaInit(PciFunction pdev)
    {
        ArgumentNullException.ThrowIfNull(pdev);
        lock (_lock)
        {
            return InitLocked(pdev);
        }
    }

    /// <summary>
    /// Linux <c>pcim_p2pdma_provider</c>: the provider of one BAR, for a naked (DMABUF) provider. Null when
    /// the device has no such BAR, when it has non-mappable BARs, or when <see cref="PcimP2pdmaInit"/> was
    /// never called; the last case is a driver bug the kernel WARNs about, and so does this (in
    /// <see cref="KernelLog"/>).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="pdev"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bar"/> is not 0–5 (Linux would index past
    /// <c>mem[PCI_STD_NUM_BARS]</c>).</exception>
    public P2pProvider? PcimP2pdmaProvider(PciFunction pdev, int bar)
    {
        ArgumentNullException.ThrowIfNull(pdev);
        ThrowIfNotStandardBar(bar);
        if (GetBar(pdev, bar) is null || HasNonMappableBars(pdev))
        {
            return null;
        }

        PciP2pdma? p2pdma = GetP2pdma(pdev);
        if (p2pdma is null)
        {
            Warn(pdev, "WARNING: pcim_p2pdma_provider() called before pcim_p2pdma_init()");
            return null;
        }

        return p2pdma.Mem[bar];
    }

    /// <summary>
    /// Linux <c>pci_p2pdma_add_resource</c>: turns <paramref name="size"/> bytes at <paramref name="offset"/>
    /// of a BAR into p2pmem (spec §1.3 step 2). Size 0 means the rest of the BAR. In order: argument checks;
    /// <see cref="PcimP2pdmaInit"/>; the pool and the sysfs group on the first call (they stay if a later
    /// step fails, as in Linux); the provider; the page map, with the checks of <c>memremap_pages</c>; the
    /// range added to the pool with the bus address as "phys"; the log line
    /// <c>added peer-to-peer DMA memory &lt;start&gt;-&lt;end&gt;</c>. May be called for several BARs and ranges.
    /// </summary>
    /// <returns>
    /// None on success. EINVAL: no such BAR, <paramref name="offset"/> not inside it, or the range runs past
    /// its end. EOPNOTSUPP: non-mappable BARs. From the page map (spec §4.3), in the kernel's order:
    /// ENOMEM when the range's first or last page lies in an existing page map of any device ("Conflicting
    /// mapping in same section"); ENXIO when the range overlaps host RAM; EINVAL when it ends beyond
    /// <see cref="MaxPhysMemBits"/> or its start or size is not a multiple of <see cref="SubsectionSizeBytes"/>;
    /// EEXIST when it encloses an existing page map (its subsections are already active).
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="pdev"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bar"/> is not 0–5.</exception>
    /// <exception cref="InvalidOperationException">The device is being removed (<see cref="RemoveProvider(PciFunction, TimeSpan)"/>).</exception>
    public Errno PciP2pdmaAddResource(PciFunction pdev, int bar, ulong size, ulong offset)
    {
        ArgumentNullException.ThrowIfNull(pdev);
        ThrowIfNotStandardBar(bar);
        PciBar? resource = GetBar(pdev, bar);
        if (resource is null)
        {
            return Errno.EINVAL;
        }

        ulong barBytes = resource.SizeBytes;
        if (offset >= barBytes)
        {
            return Errno.EINVAL;
        }

        if (size == 0)
        {
            size = barBytes - offset;
        }

        // Linux tests size + offset > len, which could wrap; this form cannot.
        if (size > barBytes - offset)
        {
            return Errno.EINVAL;
        }

        lock (_lock)
        {
            Errno error = InitLocked(pdev);
            if (error != Errno.None)
            {
                return error;
            }

            PciP2pdma p2pdma = _p2pdma[pdev];
            if (p2pdma.TeardownStarted)
            {
                throw new InvalidOperationException($"{pdev.Address}: resources added while the provider is being removed.");
            }

            SetupPoolLocked(p2pdma);
            P2pProvider? provider = PcimP2pdmaProvider(pdev, bar);
            if (provider is null)
            {
                return Errno.EINVAL;
            }

            ulong busStart = resource.Address + offset;
            ulong physStart = unchecked(busStart - provider.BusOffset);
            error = MemremapPagesLocked(physStart, size);
            if (error != Errno.None)
            {
                return error;
            }

            var pagemap = new P2pPagemap(provider, offset, new AddressRange(physStart, size), p2pdma.Pool!);
            Volatile.Write(ref _pagemaps, [.. _pagemaps, pagemap]);
            p2pdma.AddPagemap(pagemap);
            p2pdma.Pool!.AddChunk(provider, offset, busStart, size, pagemap);
            Warn(pdev, $"added peer-to-peer DMA memory {FormatHex(physStart)}-{FormatHex(physStart + (size - 1))}");
            return Errno.None;
        }
    }

    /// <summary>
    /// Linux <c>pci_p2pmem_publish</c>: makes the device's p2pmem findable by <see cref="PciP2pmemFindMany"/>
    /// (or hides it again). Published memory is for any driver; unpublished memory stays the provider
    /// driver's own.
    /// </summary>
    /// <returns>None; ENODEV when the device has no P2PDMA state (deviation: Linux returns void and silently
    /// does nothing, which a caller here can now see).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="pdev"/> is null.</exception>
    public Errno PciP2pmemPublish(PciFunction pdev, bool publish)
    {
        ArgumentNullException.ThrowIfNull(pdev);
        lock (_lock)
        {
            PciP2pdma? p2pdma = GetP2pdma(pdev);
            if (p2pdma is null)
            {
                return Errno.ENODEV;
            }

            p2pdma.P2pmemPublished = publish;
            return Errno.None;
        }
    }

    /// <summary>
    /// Linux <c>pci_alloc_p2pmem</c>: <paramref name="size"/> bytes (rounded up to whole pages) from the
    /// device's pool, first fit, holding one reference on the range's page map.
    /// </summary>
    /// <returns>The allocation; null when the device has no P2PDMA state or no pool, for size 0, when no free
    /// run is large enough, or when the page map the allocation came from is dying (being torn down).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="pdev"/> is null.</exception>
    public P2pMemory? PciAllocP2pmem(PciFunction pdev, ulong size)
    {
        ArgumentNullException.ThrowIfNull(pdev);
        P2pMemPool? pool = GetP2pdma(pdev)?.Pool;
        P2pMemory? memory = pool?.Alloc(size);
        if (memory is null)
        {
            return null;
        }

        if (memory.Pagemap is P2pPagemap pagemap && !pagemap.TryGetLive())
        {
            pool!.Free(memory);
            return null;
        }

        return memory;
    }

    /// <summary>Linux <c>pci_free_p2pmem</c>: returns an allocation to the pool and drops its page-map reference.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="memory"/> is not from <paramref name="pdev"/>'s pool,
    /// or was already freed.</exception>
    public void PciFreeP2pmem(PciFunction pdev, P2pMemory memory)
    {
        ArgumentNullException.ThrowIfNull(pdev);
        ArgumentNullException.ThrowIfNull(memory);
        P2pMemPool pool = PoolOf(pdev, memory);
        if (!pool.TryFree(memory))
        {
            throw new ArgumentException($"{memory} was already freed.", nameof(memory));
        }

        memory.Pagemap?.Put();
    }

    /// <summary>
    /// Linux <c>pci_p2pmem_virt_to_bus</c>: the PCI bus address of an allocation (the pool's "phys", which
    /// <c>pci_p2pdma_add_resource</c> set to the BAR's bus address plus the offset).
    /// </summary>
    /// <returns>The bus address (also of an allocation already freed: the pool still holds its range); 0 for
    /// a null allocation or a device without P2PDMA state.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="pdev"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="memory"/> is not from <paramref name="pdev"/>'s pool
    /// (Linux's gen_pool would answer -1).</exception>
    public ulong PciP2pmemVirtToBus(PciFunction pdev, P2pMemory? memory)
    {
        ArgumentNullException.ThrowIfNull(pdev);
        if (memory is null || GetP2pdma(pdev) is null)
        {
            return 0;
        }

        PoolOf(pdev, memory);
        return memory.BusAddress;
    }

    /// <summary>
    /// Linux <c>pci_p2pmem_alloc_sgl</c>: a single-entry scatterlist over one <see cref="PciAllocP2pmem"/>
    /// allocation of <paramref name="length"/> bytes.
    /// </summary>
    /// <param name="nents">1 on success; 0 on failure (Linux leaves it unchanged then).</param>
    /// <returns>The list, or null when the allocation fails.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="pdev"/> is null.</exception>
    public P2pScatterlist? PciP2pmemAllocSgl(PciFunction pdev, out int nents, uint length)
    {
        ArgumentNullException.ThrowIfNull(pdev);
        P2pMemory? memory = PciAllocP2pmem(pdev, length);
        if (memory is null)
        {
            nents = 0;
            return null;
        }

        nents = 1;
        return new P2pScatterlist(new P2pScatterlistEntry(memory, length));
    }

    /// <summary>Linux <c>pci_p2pmem_free_sgl</c>: frees every entry of the list, then the list.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The list is not from <paramref name="pdev"/> or was already freed.</exception>
    public void PciP2pmemFreeSgl(PciFunction pdev, P2pScatterlist sgl)
    {
        ArgumentNullException.ThrowIfNull(pdev);
        ArgumentNullException.ThrowIfNull(sgl);
        foreach (P2pScatterlistEntry entry in sgl.Entries)
        {
            PoolOf(pdev, entry.Memory);
        }

        if (!sgl.TryMarkFreed())
        {
            throw new ArgumentException($"{sgl} was already freed.", nameof(sgl));
        }

        foreach (P2pScatterlistEntry entry in sgl.Entries)
        {
            PciFreeP2pmem(pdev, entry.Memory);
        }
    }

    /// <summary>
    /// The device's sysfs <c>p2pmem</c> group, or null when it has none (no pool was ever set up: the group
    /// is created with the pool by the first <see cref="PciP2pdmaAddResource"/>).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="pdev"/> is null.</exception>
    public P2pmemSysfs? GetP2pmemSysfs(PciFunction pdev) => GetP2pdma(pdev)?.Sysfs;

    /// <summary>
    /// Linux <c>pci_p2pdma_enable_store</c>, the parser behind configfs attributes such as nvmet's
    /// <c>p2pmem</c> (spec §2.4). In order: a string naming a PCI device (its address, e.g.
    /// "0000:03:00.0", optionally followed by the one newline <c>echo</c> adds) selects it, and it must have
    /// published p2pmem; a string starting with '0' or '1' followed by a non-control character (an unknown
    /// address) is rejected; otherwise <c>kstrtobool</c> decides; anything else is rejected.
    /// </summary>
    /// <param name="page">What was written, as the kernel sees it (C-string: ends at the first NUL).</param>
    /// <param name="p2pDev">The selected device; null when a boolean was given, and on error (deviation: for a
    /// device without published p2pmem Linux leaves the device here after dropping its reference; callers
    /// ignore the outputs of a failed store).</param>
    /// <param name="useP2pdma">Whether to use P2PDMA; false on error (Linux leaves it unchanged, or true for a
    /// device without published p2pmem).</param>
    /// <returns>None; ENODEV for a device without published p2pmem ("PCI device has no peer-to-peer memory")
    /// and for anything that is neither a device nor a boolean ("No such PCI device").</returns>
    /// <exception cref="ArgumentNullException"><paramref name="page"/> is null.</exception>
    public Errno PciP2pdmaEnableStore(string page, out PciFunction? p2pDev, out bool useP2pdma)
    {
        ArgumentNullException.ThrowIfNull(page);
        int nul = page.IndexOf('\0', StringComparison.Ordinal);
        string text = nul < 0 ? page : page[..nul];
        p2pDev = null;
        useP2pdma = false;

        PciFunction? device = BusFindDeviceByName(text);
        if (device is not null)
        {
            if (!PciHasP2pmem(device))
            {
                Warn(device, $"PCI device has no peer-to-peer memory: {text.TrimEnd('\n')}");
                return Errno.ENODEV;
            }

            p2pDev = device;
            useP2pdma = true;
            return Errno.None;
        }

        // "0000:01:00.1" must not read as the boolean '0': a lone 0 or 1 only.
        bool looksLikeAddress = text.Length > 0 && text[0] is '0' or '1' && !IsCntrl(CharAt(text, 1));
        if (!looksLikeAddress && KstrToBool(text, out bool value))
        {
            useP2pdma = value;
            return Errno.None;
        }

        int newline = text.IndexOf('\n', StringComparison.Ordinal);
        LogLine($"pci-p2pdma: No such PCI device: {(newline < 0 ? text : text[..newline])}");
        return Errno.ENODEV;
    }

    /// <summary>
    /// Linux <c>pci_p2pdma_enable_show</c>: "0\n" when P2PDMA is off, "1\n" when on with no device chosen,
    /// otherwise the chosen device's address and a newline.
    /// </summary>
    public static string PciP2pdmaEnableShow(PciFunction? p2pDev, bool useP2pdma)
    {
        if (!useP2pdma)
        {
            return "0\n";
        }

        return p2pDev is null ? "1\n" : p2pDev.Address + "\n";
    }

    /// <summary>
    /// Linux <c>kstrtobool</c> as of v6.19: the first character decides: one of <c>EeYyTt1</c> is true, one
    /// of <c>DdNnFf0</c> false; <c>o</c>/<c>O</c> needs a second character, <c>n</c>/<c>N</c> (on) or
    /// <c>f</c>/<c>F</c> (off). Anything after that is ignored ("yes\n", "off", "Nope" all parse).
    /// </summary>
    internal static bool KstrToBool(string s, out bool value)
    {
        switch (CharAt(s, 0))
        {
            case 'e' or 'E' or 'y' or 'Y' or 't' or 'T' or '1':
                value = true;
                return true;
            case 'd' or 'D' or 'n' or 'N' or 'f' or 'F' or '0':
                value = false;
                return true;
            case 'o' or 'O':
                char second = CharAt(s, 1);
                if (second is 'n' or 'N' or 'f' or 'F')
                {
                    value = second is 'n' or 'N';
                    return true;
                }

                break;
        }

        value = false;
        return false;
    }

    private Errno InitLocked(PciFunction pdev)
    {
        if (HasNonMappableBars(pdev))
        {
            return Errno.EOPNOTSUPP;
        }

        if (_p2pdma.ContainsKey(pdev))
        {
            return Errno.None;
        }

        var p2pdma = new PciP2pdma(pdev);
        for (int bar = 0; bar < StdNumBars; bar++)
        {
            if (GetBar(pdev, bar) is not null)
            {
                p2pdma.Mem[bar] = new P2pProvider(pdev, bar, busOffset: 0);
            }
        }

        // Published only when complete, as rcu_assign_pointer does: lock-free readers never see it half built.
        _p2pdma[pdev] = p2pdma;
        return Errno.None;
    }

    /// <summary>Linux <c>pci_p2pdma_setup_pool</c>: the gen_pool and the sysfs group, once.</summary>
    private void SetupPoolLocked(PciP2pdma p2pdma)
    {
        if (p2pdma.Pool is not null)
        {
            return;
        }

        p2pdma.Pool = new P2pMemPool();
        p2pdma.Sysfs = new P2pmemSysfs(this, p2pdma.Device);
    }

    /// <summary>
    /// The checks <c>devm_memremap_pages</c> makes of a new page map over [start, start + size), in the
    /// kernel's order (mm/memremap.c <c>pagemap_range</c>, mm/memory_hotplug.c <c>__add_pages</c>,
    /// mm/sparse.c <c>fill_subsection_map</c>), with their WARN lines.
    /// </summary>
    private Errno MemremapPagesLocked(ulong start, ulong size)
    {
        ulong end = start + (size - 1);
        foreach (P2pPagemap existing in _pagemaps)
        {
            if (existing.Range.Contains(start) || existing.Range.Contains(end))
            {
                LogLine("WARNING: Conflicting mapping in same section");
                return Errno.ENOMEM;
            }
        }

        ulong ramBytes = RamOverlapBytes(start, end);
        if (ramBytes != 0)
        {
            LogLine($"WARNING: attempted on {(ramBytes == size ? "ram" : "mixed")} region {FormatHex(start)}-{FormatHex(end)}");
            return Errno.ENXIO;
        }

        const ulong MaxPhysAddress = (1UL << MaxPhysMemBits) - 1;
        if (end > MaxPhysAddress)
        {
            LogLine($"Hotplug memory [{FormatHex(start)}-{FormatHex(end)}] exceeds maximum addressable range [0-{FormatHex(MaxPhysAddress)}]");
            return Errno.EINVAL;
        }

        ulong pfn = start >> P2pMemPool.PageShift;
        ulong pages = size >> P2pMemPool.PageShift;
        if (((start | size) & (SubsectionSizeBytes - 1)) != 0)
        {
            LogLine($"WARNING: Misaligned __add_pages start: {FormatHex(pfn)} end: {FormatHex(pfn + pages - 1)}");
            return Errno.EINVAL;
        }

        foreach (P2pPagemap existing in _pagemaps)
        {
            if (existing.Range.Base <= end && start <= existing.Range.Base + (existing.Range.SizeBytes - 1))
            {
                return Errno.EEXIST;
            }
        }

        return Errno.None;
    }

    /// <summary>How many bytes of [start, end] are host RAM (<c>region_intersects</c> with System RAM).</summary>
    private ulong RamOverlapBytes(ulong start, ulong end)
    {
        ulong ramBytes = Fabric.Ram.SizeBytes;
        ulong lowBytes = Math.Min(ramBytes, PcieFabric.LowRamLimit);
        ulong overlap = Overlap(start, end, 0, lowBytes);
        if (ramBytes > PcieFabric.LowRamLimit)
        {
            overlap += Overlap(start, end, PcieFabric.HighRamBase, ramBytes - PcieFabric.LowRamLimit);
        }

        return overlap;

        static ulong Overlap(ulong start, ulong end, ulong regionBase, ulong regionBytes)
        {
            ulong regionEnd = regionBase + (regionBytes - 1);
            ulong from = Math.Max(start, regionBase);
            ulong to = Math.Min(end, regionEnd);
            return from <= to ? to - from + 1 : 0;
        }
    }

    /// <summary>Linux <c>bus_find_device_by_name(&amp;pci_bus_type, NULL, name)</c>, matching as <c>sysfs_streq</c> does.</summary>
    private PciFunction? BusFindDeviceByName(string name)
    {
        foreach (PciFunction function in Fabric.Functions)
        {
            string address = function.Address;
            if (name.Length >= address.Length && name.StartsWith(address, StringComparison.Ordinal)
                && (name.Length == address.Length || (name.Length == address.Length + 1 && name[^1] == '\n')))
            {
                return function;
            }
        }

        return null;
    }

    /// <summary>
    /// The pool <paramref name="memory"/> must belong to: <paramref name="pdev"/>'s.
    /// </summary>
    /// <exception cref="ArgumentException">It does not.</exception>
    private P2pMemPool PoolOf(PciFunction pdev, P2pMemory memory)
    {
        P2pMemPool? pool = GetP2pdma(pdev)?.Pool;
        if (pool is null || !ReferenceEquals(memory.Pool, pool))
        {
            throw new ArgumentException($"{memory} was not allocated from {pdev.Address}.", nameof(memory));
        }

        return pool;
    }

    private bool HasNonMappableBars(PciFunction pdev) => _nonMappableBars.ContainsKey(pdev);

    private static PciBar? GetBar(PciFunction pdev, int bar) => (pdev as PciEndpoint)?.GetBar(bar);

    private static void ThrowIfNotStandardBar(int bar)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bar);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(bar, StdNumBars);
    }

    /// <summary>C's <c>s[i]</c>: NUL past the end.</summary>
    private static char CharAt(string s, int index) => index < s.Length ? s[index] : '\0';

    /// <summary>C's <c>iscntrl</c> in the C locale.</summary>
    private static bool IsCntrl(char c) => c < ' ' || c == '\x7f';

    /// <summary>printf's <c>%#llx</c>: "0x" and lowercase hex, but a bare "0" for zero.</summary>
    private static string FormatHex(ulong value) =>
        value == 0 ? "0" : "0x" + value.ToString("x", CultureInfo.InvariantCulture);
}
