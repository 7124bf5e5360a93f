using System;
using System.Collections.Generic;
using System.Threading;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Iommu.Hardware;
using P2pEmu.Iommu.IovaAllocator;

namespace P2pEmu.Dma.Mapping;

/// <summary>
/// What the kernel does when it probes devices behind a translating IOMMU (drivers/iommu/iommu.c and
/// dma-iommu.c): every IOMMU group gets one default DMA domain with its IOVA cookie, and all the group's
/// devices are attached to it. The cookie reserves the MSI window and every host bridge's MMIO windows, so
/// an IOVA is never a peer BAR address.
/// </summary>
internal sealed class IommuDefaultDomains
{
    private readonly PcieFabric _fabric;
    private readonly P2pDmaHost _p2p;
    private readonly Dictionary<HostBridge, IommuUnit> _units = new();
    private readonly IommuGroups _groups;
    private readonly Dictionary<IommuGroup, IommuDmaOps> _ops = new();
    private readonly Lock _lock = new();

    private readonly bool _strict;
    private readonly TimeSpan _flushQueueTimeout;

    /// <param name="strict">Linux <c>iommu.strict=1</c>: default domains of type DMA (every unmap invalidates at once);
    /// otherwise DMA-FQ, with a flush queue (lazy invalidation, the x86 default).</param>
    public IommuDefaultDomains(PcieFabric fabric, P2pDmaHost p2p, IEnumerable<IommuUnit> units, bool strict, TimeSpan? flushQueueTimeout)
    {
        _flushQueueTimeout = flushQueueTimeout ?? DmaIommuCookie.DefaultFlushQueueTimeout;
        _fabric = fabric;
        _p2p = p2p;
        _strict = strict;
        foreach (IommuUnit unit in units)
        {
            _units.Add(unit.HostBridge, unit);
        }

        _groups = IommuGroups.Compute(fabric);
    }

    public IommuGroups Groups => _groups;

    /// <summary>The ops of the device's group (domain created and attached on first use); null without a translating IOMMU.</summary>
    /// <exception cref="InvalidOperationException">The host ran out of memory for the domain's page tables.</exception>
    public IDmaOps? OpsFor(PciFunction pci)
    {
        if (pci.HostBridge.Iommu != IommuMode.Translate || !_units.TryGetValue(pci.HostBridge, out IommuUnit? unit))
        {
            return null;
        }

        IommuGroup group = _groups.GroupOf(pci);
        lock (_lock)
        {
            if (_ops.TryGetValue(group, out IommuDmaOps? existing))
            {
                return existing;
            }

            Result<IommuDomain> domain = unit.AllocateDomain();
            if (!domain.IsSuccess)
            {
                throw new InvalidOperationException($"No host memory for the page tables of {group}: {domain.Error}.");
            }

            var cookie = new DmaIommuCookie();
            cookie.ReserveMsiWindow();
            foreach (HostBridge hb in _fabric.HostBridges)
            {
                cookie.ReserveHostBridgeWindows(hb);
            }

            if (!_strict)
            {
                cookie.IommuDmaInitFq(domain.Value);
                cookie.FlushQueueTimeout = _flushQueueTimeout;
            }

            unit.AttachGroup(group, domain.Value);
            var ops = new IommuDmaOps(domain.Value, cookie, _p2p);
            _ops.Add(group, ops);
            return ops;
        }
    }
}
