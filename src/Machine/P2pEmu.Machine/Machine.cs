using System;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Machine;

/// <summary>
/// A running emulated machine built from a topology: the enumerated PCIe fabric with host RAM and every
/// device. The single composition root that the CLI, the tests and the benchmarks use.
/// </summary>
public sealed class Machine : IDisposable
{
    private Machine(PcieFabric fabric)
    {
        Fabric = fabric;
        P2pDma = new P2pDmaHost(fabric);
    }

    public PcieFabric Fabric { get; }

    /// <summary>The kernel's P2PDMA subsystem on this machine.</summary>
    public P2pDmaHost P2pDma { get; }

    public TopologyDescription Topology => Fabric.Topology;

    /// <summary>Builds a machine; a bad topology throws <see cref="TopologyException"/> and leaves nothing behind.</summary>
    public static Machine Build(TopologyDescription topology) => new(FabricBuilder.Build(topology));

    /// <summary>Builds a machine from a built-in topology name, a topology file or an lspci dump.</summary>
    public static Machine Load(string nameOrPath) => Build(TopologySource.Load(nameOrPath));

    public void Dispose() => Fabric.Dispose();
}
