using System;
using System.Linq;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Iommu.Hardware;
using P2pEmu.Testing;

namespace P2pEmu.Iommu.Tests.Hardware;

/// <summary>A fabric with its page allocator and the IOMMU of hb0 installed, as the Machine will wire them.</summary>
internal sealed class IommuMachine : IDisposable
{
    public IommuMachine(TopologyDescription topology, int iotlbSets = 256, int iotlbWays = 4, int faultLogCapacity = 1024)
    {
        Fabric = FabricBuilder.Build(topology);
        Pages = new HostPageAllocator(Fabric);
        Unit = IommuUnit.Install(Fabric, Fabric.HostBridges[0], Pages, iotlbSets, iotlbWays, faultLogCapacity);
    }

    public PcieFabric Fabric { get; }

    public HostPageAllocator Pages { get; }

    public IommuUnit Unit { get; }

    public PciFunction this[string name] => Fabric[name];

    /// <summary>
    /// hb0: hostdev, rp1 → sw0 { dp0 → a, dp1 → b }, rp2 → c; every port has ACS control <paramref name="portAcs"/>
    /// (the capability implements everything). 64 MiB of RAM.
    /// </summary>
    public static TopologyDescription Switched(IommuMode mode, AcsFlags portAcs = AcsIsolation.RequiredFlags)
    {
        HostBridgeDescription hb0 = Topo.HostBridge("hb0", 0, 0, false,
            Topo.HostDevice(),
            Topo.RootPort("rp1", portAcs, Topo.Switch("sw0",
                Topo.Port("dp0", portAcs, Topo.Endpoint("a")),
                Topo.Port("dp1", portAcs, Topo.Endpoint("b")))),
            Topo.RootPort("rp2", portAcs, Topo.Endpoint("c")));
        return Topo.Machine(hb0 with { Iommu = mode });
    }

    /// <summary>The same topology with every host bridge's IOMMU mode set to <paramref name="mode"/>.</summary>
    public static TopologyDescription WithIommu(TopologyDescription topology, IommuMode mode) =>
        topology with { HostBridges = topology.HostBridges.Select(hb => hb with { Iommu = mode }).ToArray() };

    public PciBar Bar(string name) => ((PciEndpoint)Fabric[name]).Bars[0];

    public DmaPort Port(string name) => new(Fabric, Fabric[name]);

    public IommuDomain NewDomain() => Unit.AllocateDomain().Value;

    /// <summary>A new domain attached to <paramref name="device"/>.</summary>
    public IommuDomain DomainFor(string device)
    {
        IommuDomain domain = NewDomain();
        Unit.Attach(Fabric[device], domain);
        return domain;
    }

    /// <summary>The bytes of host RAM at a bus address below 2 GiB.</summary>
    public byte[] Ram(ulong busAddress, int length) => Fabric.Ram.Region.GetSpan(busAddress, length).ToArray();

    public void Dispose() => Fabric.Dispose();

    public static byte[] RandomBytes(int length, int seed)
    {
        byte[] bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
