using System;
using System.Collections.Generic;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Topology;
using P2pEmu.Iommu.Hardware;

namespace P2pEmu.Machine;

/// <summary>
/// A running emulated machine built from a topology: the enumerated PCIe fabric with host RAM and every
/// device, an IOMMU on each host bridge whose mode is not off, and the host software (P2PDMA, the DMA
/// API). The single composition root that the CLI, the tests and the benchmarks use.
/// </summary>
public sealed class Machine : IDisposable
{
    private Machine(PcieFabric fabric)
    {
        Fabric = fabric;
        Pages = new HostPageAllocator(fabric);
        Iommus = IommuUnit.InstallAll(fabric, Pages);
        P2pDma = new P2pDmaHost(fabric);
        Dma = new DmaApi(fabric, P2pDma, Iommus);
    }

    public PcieFabric Fabric { get; }

    public TopologyDescription Topology => Fabric.Topology;

    /// <summary>The kernel's page allocator over host RAM (IOMMU page tables, DMA buffers).</summary>
    public HostPageAllocator Pages { get; }

    /// <summary>The IOMMUs of the host bridges whose <c>iommu</c> is passthrough or translate.</summary>
    public IReadOnlyList<IommuUnit> Iommus { get; }

    /// <summary>The kernel's P2PDMA subsystem on this machine.</summary>
    public P2pDmaHost P2pDma { get; }

    /// <summary>The kernel's DMA mapping API on this machine.</summary>
    public DmaApi Dma { get; }

    /// <summary>Builds a machine; a bad topology throws <see cref="TopologyException"/> and leaves nothing behind.</summary>
    public static Machine Build(TopologyDescription topology)
    {
        PcieFabric fabric = FabricBuilder.Build(topology);
        try
        {
            return new Machine(fabric);
        }
        catch
        {
            fabric.Dispose();
            throw;
        }
    }

    /// <summary>Builds a machine from a built-in topology name, a topology file or an lspci dump.</summary>
    public static Machine Load(string nameOrPath) => Build(TopologySource.Load(nameOrPath));

    public void Dispose() => Fabric.Dispose();
}
