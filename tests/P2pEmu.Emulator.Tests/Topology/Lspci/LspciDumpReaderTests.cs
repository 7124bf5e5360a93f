using System;
using System.Linq;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Emulator.Topology.Lspci;
using Xunit;

namespace P2pEmu.Emulator.Tests.Topology.Lspci;

/// <summary>What the reader makes of a dump: host bridges, kinds, slots, bus numbers, ACS, VFs, BARs.</summary>
public sealed class LspciDumpReaderTests
{
    private const ulong KiB = 1UL << 10;
    private const ulong MiB = 1UL << 20;

    [Fact]
    public void Parse_WrittenDump_OneHostBridgePerDomainAndRootBus()
    {
        TopologyDescription topology = ParseWrittenSample();

        Assert.Equal(["hb0000:00", "hb0001:40"], topology.HostBridges.Select(hb => hb.Name).ToArray());
        Assert.Equal([(0, 0x00), (1, 0x40)], topology.HostBridges.Select(hb => (hb.Segment, hb.Bus)).ToArray());
        Assert.All(topology.HostBridges, hb => Assert.Equal(IommuMode.Off, hb.Iommu));
        Assert.All(topology.HostBridges, hb => Assert.False(hb.RootComplexP2p));
    }

    [Fact]
    public void Parse_WrittenDump_RootBusEntriesInSlotOrderWithKinds()
    {
        HostBridgeDescription hb = ParseWrittenSample().HostBridges[0];

        Assert.Equal(["0000:00:00.0", "0000:00:01.0", "0000:00:02.0", "0000:00:04.0"], hb.Devices.Select(d => d.Name).ToArray());
        Assert.Equal([DeviceKind.HostBridge, DeviceKind.RootPort, DeviceKind.RootPort, DeviceKind.Endpoint], hb.Devices.Select(d => d.Kind).ToArray());
        Assert.Equal([new PciSlot(0, 0), new PciSlot(1, 0), new PciSlot(2, 0), new PciSlot(4, 0)], hb.Devices.Select(d => d.Slot!.Value).ToArray());
        Assert.Equal((ushort)0x8086, hb.Devices[0].VendorId);
        Assert.Equal((ushort)0x2020, hb.Devices[0].DeviceId);
    }

    [Fact]
    public void Parse_WrittenDump_SwitchKeepsPortSlotsAndSecondaryBuses()
    {
        DeviceDescription rootPort = ParseWrittenSample().HostBridges[0].Devices[1];
        DeviceDescription sw = Assert.Single(rootPort.Children);

        Assert.Equal(1, rootPort.SecondaryBus);
        Assert.Equal(DeviceKind.Switch, sw.Kind);
        Assert.Equal("sw0000:01:00.0", sw.Name);
        Assert.Equal("0000:01:00.0", sw.Upstream!.Name);
        Assert.Equal(2, sw.Upstream.SecondaryBus);
        Assert.Equal(["0000:02:00.0", "0000:02:01.0"], sw.Ports.Select(p => p.Name).ToArray());
        Assert.Equal([new PciSlot(0, 0), new PciSlot(1, 0)], sw.Ports.Select(p => p.Slot!.Value).ToArray());
        Assert.Equal([3, 4], sw.Ports.Select(p => p.SecondaryBus!.Value).ToArray());
        Assert.Equal(AcsFlags.RR | AcsFlags.CR, sw.Ports[0].Acs!.Control);
        Assert.Null(sw.Ports[1].Acs);
    }

    [Fact]
    public void Parse_WrittenDump_EndpointIsGenericWithItsIdsAndClass()
    {
        DeviceDescription sw = ParseWrittenSample().HostBridges[0].Devices[1].Children[0];
        DeviceDescription nvme = Assert.Single(sw.Ports[0].Children);

        Assert.Equal("0000:03:00.0", nvme.Name);
        Assert.Equal(DeviceKind.Endpoint, nvme.Kind);
        Assert.Equal((ushort)0x1B36, nvme.VendorId);
        Assert.Equal((ushort)0x0010, nvme.DeviceId);
        Assert.Equal(0x010802u, nvme.ClassCode);
        Assert.Equal([(0, true, false), (2, true, true)], nvme.Bars.Select(b => (b.Index, b.Is64Bit, b.Prefetchable)).ToArray());
    }

    [Fact]
    public void Parse_WrittenDump_PfWithSecondFunctionAndVfsIsOneEntry()
    {
        DeviceDescription rciep = ParseWrittenSample().HostBridges[0].Devices[3];

        Assert.Equal("0000:00:04.0", rciep.Name);
        Assert.Equal(2, rciep.Vfs);
        DeviceDescription second = Assert.Single(rciep.Functions);
        Assert.Equal("0000:00:04.1", second.Name);
        Assert.Equal(new PciSlot(4, 1), second.Slot);
        Assert.Equal(0, second.Vfs);
    }

    [Fact]
    public void Parse_WrittenDump_ReadsAcsEgressVectorAndItsSize()
    {
        AcsDescription acs = ParseWrittenSample().HostBridges[0].Devices[2].Acs!;

        Assert.Equal(AcsFlags.All, acs.Capability);
        Assert.Equal(AcsFlags.SV | AcsFlags.EC, acs.Control);
        Assert.Equal(0x5u, acs.EgressVector);
        Assert.Equal(8, acs.EgressVectorBits);
    }

    [Fact]
    public void Parse_CrLfAndDecodedTextLines_GiveTheSameTopology()
    {
        using PcieFabric fabric = FabricBuilder.Build(DumpSamples.Machine());
        string dump = LspciDumpWriter.Write(fabric);
        string verbose = string.Join("\r\n", dump.Split('\n').Select(line =>
            line.Length > 12 && line[4] == ':' ? line + "\r\n\tSubsystem: Red Hat, Inc. Device 1100\r\n\tFlags: bus master, fast devsel" : line));

        TopologyDescription plain = LspciDumpReader.Parse(dump);
        TopologyDescription tolerant = LspciDumpReader.Parse(verbose);

        Assert.Equal(Flatten(plain), Flatten(tolerant));
    }

    [Fact]
    public void Parse_RealDesktopXxx_BuildsTheTreeInDomainZero()
    {
        HostBridgeDescription hb = Assert.Single(LspciDumpReader.Parse(DumpSamples.RealDesktopXxx).HostBridges);

        Assert.Equal("hb0000:00", hb.Name);
        Assert.Equal(["0000:00:00.0", "0000:00:01.0", "0000:00:02.0", "0000:00:14.0", "0000:00:1f.0"], hb.Devices.Select(d => d.Name).ToArray());
        Assert.Equal(
            [DeviceKind.HostBridge, DeviceKind.RootPort, DeviceKind.Endpoint, DeviceKind.Endpoint, DeviceKind.Endpoint],
            hb.Devices.Select(d => d.Kind).ToArray());
        Assert.Equal("0000:00:1f.6", Assert.Single(hb.Devices[4].Functions).Name);
        Assert.Equal(0x020000u, hb.Devices[4].Functions[0].ClassCode);
        Assert.Equal(1, hb.Devices[1].SecondaryBus);
        DeviceDescription nvme = Assert.Single(hb.Devices[1].Children);
        Assert.Equal(("0000:01:00.0", (ushort)0x144D, (ushort)0xA808, 0x010802u), (nvme.Name, nvme.VendorId!.Value, nvme.DeviceId!.Value, nvme.ClassCode!.Value));
    }

    [Fact]
    public void Parse_RealDesktopXxx_HasNoAcsWithoutExtendedSpace()
    {
        HostBridgeDescription hb = Assert.Single(LspciDumpReader.Parse(DumpSamples.RealDesktopXxx).HostBridges);

        Assert.Null(hb.Devices[1].Acs);
        Assert.Null(hb.Devices[1].Children[0].Acs);
    }

    [Fact]
    public void Parse_RealDesktopXxx_InfersBarSizesFromAlignmentAndNeighbours()
    {
        HostBridgeDescription hb = Assert.Single(LspciDumpReader.Parse(DumpSamples.RealDesktopXxx).HostBridges);

        // fc000000 is 64 MiB aligned, but the root port's window starts 32 MiB above it.
        Assert.Equal([(0, 32 * MiB, true, false), (2, 1UL << 30, true, true)], Bars(hb.Devices[2]));

        // fe000000 is 32 MiB aligned, but the root port's window above it ends 1 MiB later.
        Assert.Equal([(0, MiB, true, false)], Bars(hb.Devices[1].Children[0]));

        // fe300000 is 1 MiB aligned, but the NIC's BAR starts 128 KiB above it.
        Assert.Equal([(0, 128 * KiB, true, false)], Bars(hb.Devices[3]));

        // fe320000: 128 KiB aligned and the highest resource.
        Assert.Equal([(0, 128 * KiB, false, false)], Bars(hb.Devices[4].Functions[0]));
        Assert.Empty(hb.Devices[4].Bars);
    }

    [Fact]
    public void Build_RealDesktopXxx_ReproducesEveryAddress()
    {
        using PcieFabric fabric = FabricBuilder.Build(LspciDumpReader.Parse(DumpSamples.RealDesktopXxx));

        Assert.Equal(
            ["0000:00:00.0", "0000:00:01.0", "0000:00:02.0", "0000:00:14.0", "0000:00:1f.0", "0000:00:1f.6", "0000:01:00.0"],
            fabric.Functions.Select(f => f.Address).Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(PciExpressPortType.RootPort, fabric["0000:00:01.0"].PortType);
    }

    [Fact]
    public void Parse_ConventionalBridgeOnRootBus_IsARootPort()
    {
        string dump = DumpText.Join(
            DumpText.Block("00:1e.0", DumpText.Bridge(0, 5, 5, portType: null), 64),
            DumpText.Block("05:00.0", DumpText.Endpoint(0x1234, 0x0001, 0x028000, PciExpressPortType.LegacyEndpoint), 64));

        DeviceDescription bridge = Assert.Single(LspciDumpReader.Parse(dump).HostBridges[0].Devices);

        Assert.Equal(DeviceKind.RootPort, bridge.Kind);
        Assert.Equal(5, bridge.SecondaryBus);
        Assert.Equal(new PciSlot(0x1E, 0), bridge.Slot);
        Assert.Equal("0000:05:00.0", Assert.Single(bridge.Children).Name);
    }

    [Fact]
    public void Parse_FiveDigitVmdDomain_KeepsTheDomain()
    {
        string dump = DumpText.Block("10000:e0:17.0", DumpText.Endpoint(0x8086, 0x2822, 0x010601, PciExpressPortType.RootComplexIntegratedEndpoint), 64);

        HostBridgeDescription hb = Assert.Single(LspciDumpReader.Parse(dump).HostBridges);

        Assert.Equal(("hb10000:e0", 0x10000, 0xE0), (hb.Name, hb.Segment, hb.Bus));
        Assert.Equal("10000:e0:17.0", Assert.Single(hb.Devices).Name);
    }

    [Fact]
    public void Parse_VfsWithPfVendorId_CountTowardThePf()
    {
        using PcieFabric fabric = FabricBuilder.Build(DumpSamples.Machine());
        var pf = (PciEndpoint)fabric["rciep0"];
        ushort vfDeviceId = pf.Config.Read16(pf.SriovCapabilityOffset + SriovConfig.VfDeviceId);

        // Some tools patch the VF's IDs in from the PF; the routing ID still identifies the VF.
        string patched = LspciDumpWriter.Write(fabric).Replace("\n00: ff ff ff ff", $"\n00: 36 1b {vfDeviceId & 0xFF:x2} {vfDeviceId >> 8:x2}", StringComparison.Ordinal);

        Assert.Equal(2, LspciDumpReader.Parse(patched).HostBridges[0].Devices[3].Vfs);
    }

    private static TopologyDescription ParseWrittenSample()
    {
        using PcieFabric fabric = FabricBuilder.Build(DumpSamples.Machine());
        return LspciDumpReader.Parse(LspciDumpWriter.Write(fabric));
    }

    private static (int, ulong, bool, bool)[] Bars(DeviceDescription device) =>
        device.Bars.Select(b => (b.Index, b.SizeBytes, b.Is64Bit, b.Prefetchable)).ToArray();

    private static string[] Flatten(TopologyDescription topology) =>
        topology.HostBridges.SelectMany(hb => hb.Devices.SelectMany(Flatten).Prepend(hb.Name)).ToArray();

    private static string[] Flatten(DeviceDescription device) =>
        device.Children.SelectMany(Flatten)
            .Concat(device.Ports.SelectMany(p => p.Children.SelectMany(Flatten).Prepend($"{p.Name} {p.Slot} {p.SecondaryBus} {p.Acs?.Control}")))
            .Concat(device.Functions.SelectMany(Flatten))
            .Prepend($"{device.Name} {device.Kind} {device.Slot} {device.VendorId} {device.DeviceId} {device.ClassCode} {device.SecondaryBus} {device.Vfs} {device.Acs?.Control} {string.Join(',', device.Bars)}")
            .ToArray();
}
