using System;
using System.Collections.Generic;
using System.Linq;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.Mm;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;

namespace P2pEmu.Integration.Tests.Pgmap;

/// <summary>
/// A machine with a provider endpoint "prov" (64 MiB BAR0) and a client endpoint "cli" under one switch: with no
/// ACS the client reaches the provider by bus address (BUS_ADDR); with ACS RR/CR on the downstream ports and the
/// IOMMU translating, through the host bridge with an IOVA (THRU_HOST_BRIDGE). The client's DMA port is a real
/// device port of the topology.
/// </summary>
internal sealed class PgmapRig : IDisposable
{
    public const ulong MiB = Topo.MiB;
    public const ulong Page = P2pEmu.Dma.Mm.Page.PageSize;

    public PgmapRig(bool thruHostBridge = false)
    {
        AcsFlags acs = thruHostBridge ? AcsFlags.RR | AcsFlags.CR : AcsFlags.None;
        HostBridgeDescription hb = Topo.HostBridge("hb0",
            Topo.HostDevice(),
            Topo.RootPort("rp", Topo.Switch("sw",
                Topo.Port("dp0", acs, Topo.Endpoint("prov", 64 * MiB)),
                Topo.Port("dp1", acs, Topo.Endpoint("cli", MiB)))));
        if (thruHostBridge)
        {
            hb = hb with { Iommu = IommuMode.Translate };
        }

        Machine = P2pEmu.Machine.Machine.Build(Topo.Machine(hb));
        Provider = (PciEndpoint)Machine.Fabric["prov"];
        Client = (PciEndpoint)Machine.Fabric["cli"];
        ClientDma = Machine.Dma.GetDevice(Client);
        ClientPort = new DmaPort(Machine.Fabric, Client);
    }

    public P2pEmu.Machine.Machine Machine { get; }

    public P2pDmaHost P2p => Machine.P2pDma;

    public PciEndpoint Provider { get; }

    public PciEndpoint Client { get; }

    public DmaDevice ClientDma { get; }

    public DmaPort ClientPort { get; }

    public PciBar ProviderBar => Provider.GetBar(0)!;

    public P2pmemAllocateFile Allocate => P2p.GetP2pmemSysfs(Provider)!.Allocate;

    /// <summary>What the provider's driver does at probe: enable the device, add a range of BAR0, publish it.</summary>
    public void Probe(ulong poolBytes = 2 * MiB, ulong offset = 0)
    {
        Provider.Config.Write16(PciConfig.Command, PciConfig.CommandMemory | PciConfig.CommandMaster);
        Errno error = P2p.PciP2pdmaAddResource(Provider, 0, poolBytes, offset);
        if (error != Errno.None)
        {
            throw new InvalidOperationException($"add_resource: {error}");
        }

        P2p.PciP2pmemPublish(Provider, true);
    }

    public MmStruct NewMm(string comm = "stress") => new(Machine.Fabric, Machine.Pages, comm);

    /// <summary>One scatterlist entry per page, as a driver builds it from the pages GUP returned.</summary>
    public static SgTable TableOf(ReadOnlySpan<Page> pages)
    {
        var entries = new List<Scatterlist>(pages.Length);
        foreach (Page page in pages)
        {
            entries.Add(new Scatterlist(page.Phys, (uint)Page));
        }

        return new SgTable(entries);
    }

    public static SgEntry[] Segments(SgTable table) => table.DmaSegments().ToArray();

    public void Dispose() => Machine.Dispose();
}
