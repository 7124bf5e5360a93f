using System;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;

namespace P2pEmu.Dma.Tests.P2pDma;

/// <summary>
/// A machine for provider and p2pmem tests: four endpoints under one switch (no ACS), so every pair is
/// BUS_ADDR. "a" and "b" have a 64 MiB 64-bit BAR0; "c" a 4 MiB 32-bit BAR0 and an 8 MiB 64-bit BAR2;
/// "small" a 1 MiB BAR0. Host RAM is 64 MiB unless a test asks otherwise.
/// </summary>
internal sealed class ProviderMachine : IDisposable
{
    public const ulong MiB = Topo.MiB;

    public ProviderMachine(ulong? ramBytes = null)
    {
        TopologyDescription topology = Topo.Machine(Topo.HostBridge("hb0",
            Topo.HostDevice(),
            Topo.RootPort("rp", Topo.Switch("sw",
                Topo.Port("dp0", Topo.Endpoint("a", 64 * MiB)),
                Topo.Port("dp1", Topo.Endpoint("b", 64 * MiB)),
                Topo.Port("dp2", Topo.TwoBarEndpoint("c", 4 * MiB, 8 * MiB)),
                Topo.Port("dp3", Topo.Endpoint("small", 1 * MiB))))));
        if (ramBytes is ulong ram)
        {
            topology = topology with { Platform = topology.Platform with { RamBytes = ram } };
        }

        Fabric = FabricBuilder.Build(topology);
        Host = new P2pDmaHost(Fabric, new P2pDmaOptions { RandomSeed = 1 });
    }

    public PcieFabric Fabric { get; }

    public P2pDmaHost Host { get; }

    public PciEndpoint A => (PciEndpoint)Fabric["a"];

    public PciEndpoint B => (PciEndpoint)Fabric["b"];

    public PciEndpoint C => (PciEndpoint)Fabric["c"];

    public PciEndpoint Small => (PciEndpoint)Fabric["small"];

    public static PciBar Bar(PciEndpoint endpoint, int index) =>
        endpoint.GetBar(index) ?? throw new InvalidOperationException($"{endpoint.Name} has no BAR{index}.");

    /// <summary>Software reprograms a 64-bit BAR (the kernel would only do this while the BAR is unused).</summary>
    public static void ProgramBar64(PciEndpoint endpoint, int index, ulong address)
    {
        int offset = PciConfig.Bar0 + (index * 4);
        endpoint.Config.Write32(offset, unchecked((uint)address));
        endpoint.Config.Write32(offset + 4, (uint)(address >> 32));
    }

    /// <summary>Software reprograms a 32-bit BAR.</summary>
    public static void ProgramBar32(PciEndpoint endpoint, int index, uint address) =>
        endpoint.Config.Write32(PciConfig.Bar0 + (index * 4), address);

    /// <summary>The kernel log line <c>pci_info</c> prints for an added range.</summary>
    public static string AddedLine(PciFunction device, ulong start, ulong size) =>
        $"pci {device.Address}: added peer-to-peer DMA memory 0x{start:x}-0x{start + size - 1:x}";

    public void Dispose() => Fabric.Dispose();
}
