using System;
using System.Collections.Generic;
using System.Diagnostics.Tracing;
using System.Runtime.CompilerServices;
using System.Threading;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Iommu.Hardware;

/// <summary>
/// One IOMMU (a VT-d DMAR unit / AMD-Vi IOMMU) serving one host bridge: its mode, which domain each requester ID is
/// attached to, its IOTLB, its page-table walker and its fault log. Plugged into the fabric as the host bridge's
/// <see cref="IRootComplexTranslator"/>, so every request that reaches the root complex is translated here.
/// </summary>
/// <remarks>
/// <para>Modes (the topology's <c>iommu</c>, <see cref="HostBridge.Iommu"/>):</para>
/// <list type="bullet">
/// <item><b>translate</b>: a requester attached to a domain is translated through its page tables (IOTLB first); a
/// requester with no domain faults with <see cref="IommuFaultReason.NoDomain"/>.</item>
/// <item><b>passthrough</b> (Linux <c>iommu=pt</c>, VT-d pass-through context entries): a requester with no domain is
/// identity-mapped and nothing is counted or recorded; one that software attached to a domain (as VFIO does under
/// <c>iommu=pt</c>) is translated.</item>
/// <item><b>off</b>: <see cref="Install"/> leaves the host bridge's <see cref="IdentityTranslator"/> in place.</item>
/// </list>
/// <para>
/// Deviation from hardware: the root and context tables that map a requester ID to a domain are kept by the unit
/// (in effect a context cache that never misses) rather than in host RAM; only the domains' page tables are in RAM
/// and walked over the bus.
/// </para>
/// <para>
/// Thread safety: <see cref="TryTranslate"/> runs on any number of device threads without locks and allocates
/// nothing. Attach and detach serialize on the unit's lock and publish the context entry with a release store.
/// </para>
/// </remarks>
public sealed class IommuUnit : IRootComplexTranslator
{
    private const int RequesterBuses = 256;
    private const int DevFnsPerBus = 256;

    // IOVA pages one walk may coalesce into a cached run: one IOTLB block of 4 KiB leaves.
    private const int RunPages = (int)(IoTlb.BlockBytes >> PageTableGeometry.PageShift);

    private readonly PcieFabric _fabric;
    private readonly HostBridge _hostBridge;
    private readonly HostPageAllocator _pages;
    private readonly PageTableWalker _walker;
    private readonly IoTlb _iotlb;
    private readonly IommuFaultLog _faults;
    private readonly IommuMode _mode;
    private readonly Lock _lock = new();

    // Context entries: [bus][devfn] -> domain, each row created on first attach. Read lock-free on the DMA path.
    private readonly IommuDomain?[]?[] _context = new IommuDomain?[]?[RequesterBuses];

    private IommuUnit(PcieFabric fabric, HostBridge hostBridge, HostPageAllocator pages, int iotlbSets, int iotlbWays, int faultLogCapacity)
    {
        _fabric = fabric;
        _hostBridge = hostBridge;
        _pages = pages;
        _mode = hostBridge.Iommu;
        _walker = new PageTableWalker(fabric);
        _iotlb = new IoTlb(iotlbSets, iotlbWays);
        _faults = new IommuFaultLog(faultLogCapacity);
    }

    /// <summary>The fabric whose root complex this IOMMU sits in.</summary>
    public PcieFabric Fabric => _fabric;

    /// <summary>The host bridge whose requests this IOMMU translates.</summary>
    public HostBridge HostBridge => _hostBridge;

    /// <summary>The mode, from the host bridge's topology entry.</summary>
    public IommuMode Mode => _mode;

    /// <summary>True when the unit is the host bridge's translator (the mode is not <see cref="IommuMode.Off"/>).</summary>
    public bool IsInstalled => ReferenceEquals(_hostBridge.Translator, this);

    /// <summary>The IOTLB.</summary>
    public IoTlb IoTlb => _iotlb;

    /// <summary>The fault log.</summary>
    public IommuFaultLog Faults => _faults;

    /// <summary>
    /// Creates the IOMMU of <paramref name="hostBridge"/> and, unless its mode is <see cref="IommuMode.Off"/>, makes it the
    /// host bridge's translator.
    /// </summary>
    /// <param name="pages">Where the domains of this IOMMU get their page-table pages.</param>
    /// <param name="iotlbSets">IOTLB sets (a power of two).</param>
    /// <param name="iotlbWays">IOTLB ways per set.</param>
    /// <param name="faultLogCapacity">Fault records kept.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="hostBridge"/> is not one of <paramref name="fabric"/>'s.</exception>
    /// <exception cref="InvalidOperationException">The host bridge already has a translator other than identity.</exception>
    public static IommuUnit Install(PcieFabric fabric, HostBridge hostBridge, HostPageAllocator pages, int iotlbSets = 256, int iotlbWays = 4, int faultLogCapacity = 1024)
    {
        ArgumentNullException.ThrowIfNull(fabric);
        ArgumentNullException.ThrowIfNull(hostBridge);
        ArgumentNullException.ThrowIfNull(pages);
        bool found = false;
        foreach (HostBridge hb in fabric.HostBridges)
        {
            found |= ReferenceEquals(hb, hostBridge);
        }

        if (!found)
        {
            throw new ArgumentException($"Host bridge {hostBridge.Name} is not part of this fabric.", nameof(hostBridge));
        }

        if (hostBridge.Translator is not IdentityTranslator)
        {
            throw new InvalidOperationException($"Host bridge {hostBridge.Name} already has a translator ({hostBridge.Translator}).");
        }

        var unit = new IommuUnit(fabric, hostBridge, pages, iotlbSets, iotlbWays, faultLogCapacity);
        if (unit._mode != IommuMode.Off)
        {
            hostBridge.Translator = unit;
        }

        return unit;
    }

    /// <summary>Installs an IOMMU on every host bridge whose mode is not <see cref="IommuMode.Off"/>.</summary>
    /// <returns>The installed units, in host-bridge order.</returns>
    public static IReadOnlyList<IommuUnit> InstallAll(PcieFabric fabric, HostPageAllocator pages)
    {
        ArgumentNullException.ThrowIfNull(fabric);
        var units = new List<IommuUnit>();
        foreach (HostBridge hb in fabric.HostBridges)
        {
            if (hb.Iommu != IommuMode.Off)
            {
                units.Add(Install(fabric, hb, pages));
            }
        }

        return units;
    }

    /// <summary>Linux <c>iommu_paging_domain_alloc</c>: an empty domain with a fresh root table.</summary>
    /// <returns>The domain, or <see cref="Errno.ENOMEM"/>.</returns>
    public Result<IommuDomain> AllocateDomain() => IommuDomain.Allocate(_fabric, _pages);

    /// <summary>Points the context entry of <paramref name="device"/>'s current requester ID at <paramref name="domain"/>, replacing any other.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The device is behind another host bridge, or the domain's tables are in another fabric.</exception>
    /// <exception cref="ObjectDisposedException">The domain was disposed.</exception>
    public void Attach(PciFunction device, IommuDomain domain)
    {
        ArgumentNullException.ThrowIfNull(device);
        CheckDevice(device);
        Attach(device.Bdf, domain);
    }

    /// <summary>Points the context entry of requester ID <paramref name="requesterId"/> at <paramref name="domain"/>, replacing any other.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="domain"/> is null.</exception>
    /// <exception cref="ArgumentException">The domain's tables are in another fabric.</exception>
    /// <exception cref="ObjectDisposedException">The domain was disposed.</exception>
    public void Attach(Bdf requesterId, IommuDomain domain)
    {
        ArgumentNullException.ThrowIfNull(domain);
        if (!ReferenceEquals(domain.Fabric, _fabric))
        {
            throw new ArgumentException($"{domain} has its page tables in another fabric.", nameof(domain));
        }

        lock (_lock)
        {
            IommuDomain?[] row = _context[requesterId.Bus] ??= new IommuDomain?[DevFnsPerBus];
            IommuDomain? old = row[requesterId.DevFn];
            if (ReferenceEquals(old, domain))
            {
                return;
            }

            domain.AddAttachment(this);
            Volatile.Write(ref row[requesterId.DevFn], domain);
            Release(old);
        }
    }

    /// <summary>Linux <c>iommu_attach_group</c>: attaches every member of <paramref name="group"/> behind this host bridge.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public void AttachGroup(IommuGroup group, IommuDomain domain)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(domain);
        foreach (PciFunction member in group.Members)
        {
            if (ReferenceEquals(member.HostBridge, _hostBridge))
            {
                Attach(member.Bdf, domain);
            }
        }
    }

    /// <summary>Clears <paramref name="device"/>'s context entry: its requests then fault (translate) or pass through (passthrough).</summary>
    /// <exception cref="ArgumentException">The device is behind another host bridge.</exception>
    public void Detach(PciFunction device)
    {
        ArgumentNullException.ThrowIfNull(device);
        CheckDevice(device);
        Detach(device.Bdf);
    }

    /// <summary>Clears the context entry of requester ID <paramref name="requesterId"/>.</summary>
    public void Detach(Bdf requesterId)
    {
        lock (_lock)
        {
            IommuDomain?[]? row = _context[requesterId.Bus];
            IommuDomain? old = row?[requesterId.DevFn];
            if (old is null)
            {
                return;
            }

            Volatile.Write(ref row![requesterId.DevFn], null);
            Release(old);
        }
    }

    /// <summary>The domain <paramref name="requesterId"/>'s context entry points at, if any.</summary>
    public IommuDomain? GetDomain(Bdf requesterId)
    {
        IommuDomain?[]? row = Volatile.Read(ref _context[requesterId.Bus]);
        return row is null ? null : Volatile.Read(ref row[requesterId.DevFn]);
    }

    /// <summary>The domain <paramref name="device"/>'s current requester ID is attached to, if any.</summary>
    public IommuDomain? GetDomain(PciFunction device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return GetDomain(device.Bdf);
    }

    /// <summary>
    /// The root-complex hook: translates a request in the domain of the requester ID it carries,
    /// from the IOTLB or by walking the page tables. A failure appends a record to <see cref="Faults"/>.
    /// </summary>
    /// <param name="contiguousBytes">Bytes from <paramref name="address"/> that translate contiguously (to the end of the cached run).</param>
    /// <returns>False on a fault; nothing is accessed. Allocates nothing.</returns>
    public bool TryTranslate(PciFunction requester, Bdf requesterId, DmaAddress address, AccessKind access, out BusAddress translated, out ulong contiguousBytes)
    {
        if (_mode == IommuMode.Off)
        {
            return Identity(address, out translated, out contiguousBytes);
        }

        IommuDomain? domain = GetDomain(requesterId);
        if (domain is null)
        {
            return _mode == IommuMode.Passthrough
                ? Identity(address, out translated, out contiguousBytes)
                : Fault(requesterId, address.Value, access, IommuFaultReason.NoDomain, 0, 0, out translated, out contiguousBytes);
        }

        IommuProt required = access == AccessKind.Write ? IommuProt.Write : IommuProt.Read;
        if (address.Value <= PageTableGeometry.MaxIova
            && _iotlb.TryLookup(domain.Id, new Iova(address.Value), required, out translated, out contiguousBytes))
        {
            return true;
        }

        return TranslateMiss(requesterId, domain, address.Value, access, required, out translated, out contiguousBytes);
    }

    /// <inheritdoc/>
    public override string ToString() => $"IOMMU of {_hostBridge.Name} ({_mode})";

    private static bool Identity(DmaAddress address, out BusAddress translated, out ulong contiguousBytes)
    {
        translated = new BusAddress(address.Value);
        contiguousBytes = ulong.MaxValue;
        return true;
    }

    private static long RequesterIdOf(int segment, Bdf requesterId) => ((long)segment << 16) | requesterId.Value;

    private void CheckDevice(PciFunction device)
    {
        if (!ReferenceEquals(device.HostBridge, _hostBridge))
        {
            throw new ArgumentException($"{device} is behind {device.HostBridge.Name}, not {_hostBridge.Name}.", nameof(device));
        }
    }

    /// <summary>Drops one attachment of <paramref name="old"/>; the last one on this unit also drops its IOTLB entries. Caller holds the lock.</summary>
    private void Release(IommuDomain? old)
    {
        if (old is not null && old.RemoveAttachment(this))
        {
            _iotlb.InvalidateDomain(old.Id);
        }
    }

    /// <summary>The IOTLB missed: walk, coalesce the run around the leaf, fill, answer.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TranslateMiss(Bdf requesterId, IommuDomain domain, ulong iova, AccessKind access, IommuProt required, out BusAddress translated, out ulong contiguousBytes)
    {
        // Read before the walk: a fill whose walk raced with an invalidation is dropped (see IoTlb).
        long generation = _iotlb.Generation;
        IommuEventSource log = IommuEventSource.Log;
        if (log.IsEnabled(EventLevel.Verbose, IommuEventSource.Keywords.Misses))
        {
            log.IotlbMiss(RequesterIdOf(_hostBridge.Segment, requesterId), unchecked((long)iova), domain.Id);
        }

        if (!Walk(domain, iova, required, generation, out PageWalkResult walk))
        {
            return Fault(requesterId, iova, access, walk.Fault, walk.Level, domain.Id, out translated, out contiguousBytes);
        }

        ulong runStart;
        ulong runLength;
        ulong runTarget;
        if (walk.Level == 1)
        {
            CoalesceSmallPages(in walk, iova, out runStart, out runLength, out runTarget);
        }
        else
        {
            // A slice of a 2 MiB or 1 GiB leaf: the whole IOTLB block around the IOVA.
            runStart = iova & ~(IoTlb.BlockBytes - 1);
            runLength = IoTlb.BlockBytes;
            runTarget = walk.PageAddress.Value + (runStart - walk.PageIova.Value);
        }

        _iotlb.TryFill(domain.Id, new Iova(iova), new Iova(runStart), runLength, new BusAddress(runTarget), walk.Permissions, generation);
        ulong offset = iova - runStart;
        translated = new BusAddress(runTarget + offset);
        contiguousBytes = runLength - offset;
        return true;
    }

    /// <summary>
    /// The walk for a miss: from the leaf table the paging-structure cache holds for the IOVA's 2 MiB region when those
    /// tables allow the access, otherwise from the root, caching the leaf table it went through.
    /// </summary>
    private bool Walk(IommuDomain domain, ulong iova, IommuProt required, long generation, out PageWalkResult walk)
    {
        if (_iotlb.TryLookupTable(domain.Id, new Iova(iova), required, out BusAddress leafTable, out IommuProt tablePermissions))
        {
            return _walker.TryWalkLeafTable(leafTable, tablePermissions, new Iova(iova), required, out walk);
        }

        if (!_walker.TryWalk(domain.RootTable, new Iova(iova), required, out walk))
        {
            return false;
        }

        if (walk.Level == 1)
        {
            _iotlb.TryFillTable(domain.Id, new Iova(iova), walk.LeafTable, walk.TablePermissions, generation);
        }

        return true;
    }

    /// <summary>
    /// Extends a 4 KiB leaf to the longest run of neighbouring leaves in its IOTLB block that are present, well formed,
    /// allow the same access and map physically contiguous pages. The block's entries are read with one bus read.
    /// </summary>
    private void CoalesceSmallPages(in PageWalkResult walk, ulong iova, out ulong runStart, out ulong runLength, out ulong runTarget)
    {
        runStart = walk.PageIova.Value;
        runLength = PageTableGeometry.PageSize;
        runTarget = walk.PageAddress.Value;
        int index = (int)PageTableGeometry.EntryIndex(iova, 1);
        int groupFirst = index & ~(RunPages - 1);
        if (!NeighbourContinues(in walk, index, groupFirst, -1) && !NeighbourContinues(in walk, index, groupFirst, 1))
        {
            return; // the common case for scattered single pages: no run, and no read of the whole block's entries
        }

        Span<byte> raw = stackalloc byte[RunPages * PageTableGeometry.EntryBytes];
        if (!_fabric.TryHostRead(walk.LeafTable.Value + ((ulong)groupFirst * PageTableGeometry.EntryBytes), raw))
        {
            return;
        }

        int low = index;
        while (low > groupFirst && Continues(PageTableEntry.At(raw, low - 1 - groupFirst), in walk, low - 1 - index))
        {
            low--;
        }

        int high = index;
        while (high < groupFirst + RunPages - 1 && Continues(PageTableEntry.At(raw, high + 1 - groupFirst), in walk, high + 1 - index))
        {
            high++;
        }

        runStart -= (ulong)(index - low) * PageTableGeometry.PageSize;
        runTarget -= (ulong)(index - low) * PageTableGeometry.PageSize;
        runLength = (ulong)(high - low + 1) * PageTableGeometry.PageSize;
    }

    /// <summary>Whether the entry <paramref name="step"/> (−1 or 1) from the walked leaf, inside its block, continues its run.</summary>
    private bool NeighbourContinues(in PageWalkResult walk, int index, int groupFirst, int step)
    {
        int neighbour = index + step;
        if (neighbour < groupFirst || neighbour >= groupFirst + RunPages)
        {
            return false;
        }

        return _fabric.TryHostRead64(walk.LeafTable.Value + ((ulong)neighbour * PageTableGeometry.EntryBytes), out ulong value)
            && Continues(new PageTableEntry(value), in walk, step);
    }

    /// <summary>
    /// True when <paramref name="pte"/> maps the page <paramref name="pagesAfter"/> pages after the walked leaf's page
    /// (negative: before it), with the same permissions.
    /// </summary>
    private static bool Continues(PageTableEntry pte, in PageWalkResult walk, int pagesAfter)
    {
        if (!pte.IsPresent || !pte.HasValidFormatAt(1) || (pte.Permissions & walk.TablePermissions) != walk.Permissions)
        {
            return false;
        }

        // Two's-complement wrap: a negative distance subtracts.
        ulong expected = unchecked(walk.PageAddress.Value + (ulong)((long)pagesAfter * (long)PageTableGeometry.PageSize));
        return pte.Address == expected;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool Fault(Bdf requesterId, ulong address, AccessKind access, IommuFaultReason reason, int level, int domainId, out BusAddress translated, out ulong contiguousBytes)
    {
        int segment = _hostBridge.Segment;
        _faults.Record(new IommuFault(0, requesterId, segment, new DmaAddress(address), access, reason, level, domainId));
        IommuEventSource log = IommuEventSource.Log;
        if (log.IsEnabled(EventLevel.Warning, IommuEventSource.Keywords.Faults))
        {
            long details = ((long)domainId << 24) | ((long)access << 16) | ((long)reason << 8) | (long)level;
            log.TranslationFault(RequesterIdOf(segment, requesterId), unchecked((long)address), details);
        }

        translated = default;
        contiguousBytes = 0;
        return false;
    }
}
