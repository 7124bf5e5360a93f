using System;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;

namespace P2pEmu.Dma.Tests.DmaBuf;

/// <summary>
/// A machine for dma-buf tests. Under one switch: "exp" (the exporter, 4 MiB BAR0), "near" (no ACS: BUS_ADDR to exp)
/// and "thru" (its port redirects: THRU_HOST_BRIDGE, or NOT_SUPPORTED when the host device is not allow-listed);
/// "far" sits behind another root port.
/// </summary>
internal sealed class DmaBufMachine : IDisposable
{
    public const ulong MiB = Topo.MiB;

    public DmaBufMachine(IommuMode iommu = IommuMode.Translate, KernelProfile kernel = KernelProfile.Linux619, bool allowListed = true)
    {
        AcsFlags redirect = AcsFlags.SV | AcsFlags.RR | AcsFlags.CR | AcsFlags.UF;
        TopologyDescription topology = Topo.Machine(new HostBridgeDescription("hb0", 0, 0, iommu, true, new[]
        {
            allowListed ? Topo.HostDevice(0x8086, 0x2020) : Topo.HostDevice(0x8086, 0x29C0),
            Topo.RootPort("rp0", Topo.Switch("sw",
                Topo.Port("dp0", Topo.Endpoint("exp", 4 * MiB)),
                Topo.Port("dp1", Topo.Endpoint("near", 64 * 1024)),
                Topo.Port("dp2", redirect, Topo.Endpoint("thru", 64 * 1024)))),
            Topo.RootPort("rp1", Topo.Endpoint("far", 64 * 1024)),
        }, "$.hostBridges[0]"));
        topology = topology with { Platform = topology.Platform with { Kernel = kernel } };
        Machine = P2pEmu.Machine.Machine.Build(topology);
        Host = Machine.DmaBuf;
    }

    public P2pEmu.Machine.Machine Machine { get; }

    public DmaBufHost Host { get; }

    public PciEndpoint Exp => (PciEndpoint)Machine.Fabric["exp"];

    public PciBar ExpBar => Exp.GetBar(0)!;

    public DmaDevice Dev(string name) => Machine.Dma.GetDevice(Machine.Fabric[name]);

    /// <summary>The exporter's BAR0 provider (after <c>pcim_p2pdma_init</c>).</summary>
    public P2pProvider Provider()
    {
        Machine.P2pDma.PcimP2pdmaInit(Exp);
        return Machine.P2pDma.PcimP2pdmaProvider(Exp, 0)!;
    }

    public void Dispose() => Machine.Dispose();
}
