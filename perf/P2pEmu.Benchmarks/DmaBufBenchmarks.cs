using System;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.Userspace;
using P2pEmu.Drivers.Vfio;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using DmaBuffer = P2pEmu.Dma.DmaBuf.DmaBuf;

namespace P2pEmu.Benchmarks;

/// <summary>
/// The dma-buf path over a vfio-pci exporter (v6.19 profile, translating IOMMU), one 64 KiB range of the exporter's
/// BAR: an importer's attach + map + unmap + detach round trip, by BUS_ADDR and through the IOMMU (baseline: the same
/// range mapped and unmapped with <c>dma_map_phys</c> directly); <c>move_notify</c> to N importers (baseline: calling
/// the same N callbacks in a loop); and a revoke with N live IOMMU mappings — memory decode off then on, the importers
/// unmapping in their notify (baseline: mapping the N attachments, which the revoke case also does first).
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet derives from benchmark classes.</remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class DmaBufBenchmarks
{
    private const ulong RangeBytes = 64 * 1024;

    private Machine.Machine _machine = null!;
    private DmaBufHost _host = null!;
    private VfioPciCoreDevice _vdev = null!;
    private Process _user = null!;
    private int _deviceFd;
    private DmaBuffer _dmabuf = null!;
    private DmaDevice _near = null!;
    private DmaDevice _thru = null!;
    private PhysAddress _rangePhys;
    private DmaBufAttachOps _ops = null!;
    private DmaBufAttachment[] _attachments = null!;
    private SgTable?[] _tables = null!;
    private Action<DmaBufAttachment>[] _callbacks = null!;
    private int _notified;

    /// <summary>Live importers for the notify and revoke cases.</summary>
    [Params(1, 16, 128)]
    public int Importers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _machine = Machine.Machine.Build(Topology());
        _host = _machine.DmaBuf;
        var driver = new VfioPciDriver(_host);
        _vdev = driver.Bind((PciEndpoint)_machine.Fabric["exp"]).Value;
        _user = new Process("bench");
        _deviceFd = _vdev.Open(_user).Value;
        int fd = _vdev.IoctlDeviceFeature(_user, _deviceFd, FeatureArg()).Value;
        _dmabuf = _host.DmaBufGet(_user, fd).Value;
        _near = _machine.Dma.GetDevice(_machine.Fabric["near"]);
        _thru = _machine.Dma.GetDevice(_machine.Fabric["thru"]);
        _rangePhys = new PhysAddress(((PciEndpoint)_machine.Fabric["exp"]).GetBar(0)!.Address);
        _ops = new DmaBufAttachOps { AllowPeer2Peer = true, MoveNotify = Unmap };
        _attachments = new DmaBufAttachment[Importers];
        _tables = new SgTable?[Importers];
        _callbacks = new Action<DmaBufAttachment>[Importers];
        for (int i = 0; i < Importers; i++)
        {
            _attachments[i] = _host.DmaBufDynamicAttach(_dmabuf, _thru, _ops, i).Value;
            _callbacks[i] = Count;
        }

        if (!RoundTripThruIommu() || !RoundTripBusAddr())
        {
            throw new InvalidOperationException("the dma-buf round trip failed");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _machine.Dispose();

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("RoundTrip")]
    public bool DmaMapPhysUnmap()
    {
        DmaAddress address = _machine.Dma.DmaMapPhys(_thru, _rangePhys, RangeBytes, DmaDirection.Bidirectional, DmaAttrs.Mmio);
        _machine.Dma.DmaUnmapPhys(_thru, address, RangeBytes, DmaDirection.Bidirectional, DmaAttrs.Mmio);
        return !DmaApi.IsMappingError(address);
    }

    /// <summary>dma_buf_dynamic_attach + map_attachment_unlocked + unmap_attachment_unlocked + detach, BUS_ADDR.</summary>
    [Benchmark]
    [BenchmarkCategory("RoundTrip")]
    public bool RoundTripBusAddr() => RoundTrip(_near);

    /// <summary>The same round trip through the IOMMU (THRU_HOST_BRIDGE: an IOVA window linked and destroyed).</summary>
    [Benchmark]
    [BenchmarkCategory("RoundTrip")]
    public bool RoundTripThruIommu() => RoundTrip(_thru);

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Notify")]
    public int CallbackLoop()
    {
        foreach (Action<DmaBufAttachment> callback in _callbacks)
        {
            callback(_attachments[0]);
        }

        return _notified;
    }

    /// <summary>dma_buf_move_notify to every importer, with the reservation lock taken and dropped around it.</summary>
    [Benchmark]
    [BenchmarkCategory("Notify")]
    public int MoveNotify()
    {
        _dmabuf.Resv.Lock();
        _host.DmaBufMoveNotify(_dmabuf);
        _dmabuf.Resv.Unlock();
        return _notified;
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Revoke")]
    public int MapAll()
    {
        MapEvery();
        UnmapEvery();
        return _tables.Length;
    }

    /// <summary>Map every importer, then memory decode off (the revoke: every importer unmaps in its notify) and on again.</summary>
    [Benchmark]
    [BenchmarkCategory("Revoke")]
    public int MapAllThenRevoke()
    {
        MapEvery();
        WriteCommand(PciConfig.CommandMaster);
        WriteCommand(PciConfig.CommandMaster | PciConfig.CommandMemory);
        return _tables.Length;
    }

    private static TopologyDescription Topology()
    {
        static DeviceDescription Endpoint(string name) =>
            new(name, DeviceKind.Endpoint, "$." + name) { Bars = new[] { new BarDescription(0, 4 * BenchTopologies.MiB, true, true) } };

        var redirect = new AcsDescription(AcsFlags.All, AcsFlags.SV | AcsFlags.RR | AcsFlags.CR | AcsFlags.UF, 0);
        var sw = new DeviceDescription("sw", DeviceKind.Switch, "$.sw")
        {
            Upstream = new PortDescription("sw.up", null, Array.Empty<DeviceDescription>(), "$.sw.up"),
            Ports = new[]
            {
                new PortDescription("sw.dp0", null, new[] { Endpoint("exp") }, "$.sw.dp0"),
                new PortDescription("sw.dp1", null, new[] { Endpoint("near") }, "$.sw.dp1"),
                new PortDescription("sw.dp2", redirect, new[] { Endpoint("thru") }, "$.sw.dp2"),
            },
        };
        var hostDevice = new DeviceDescription("hostdev", DeviceKind.HostBridge, "$.hostdev") { Slot = new PciSlot(0, 0), VendorId = 0x8086, DeviceId = 0x2020 };
        var rootPort = new DeviceDescription("rp", DeviceKind.RootPort, "$.rp") { Children = new[] { sw } };
        var hb = new HostBridgeDescription("hb0", 0, 0, IommuMode.Translate, true, new[] { hostDevice, rootPort }, "$.hostBridges[0]");
        return new TopologyDescription(PlatformDescription.Default with { RamBytes = 256 * BenchTopologies.MiB }, new[] { hb });
    }

    private static byte[] FeatureArg()
    {
        int header = Marshal.SizeOf<VfioDeviceFeature>();
        int request = Marshal.SizeOf<VfioDeviceFeatureDmaBuf>();
        byte[] memory = new byte[header + request + Marshal.SizeOf<VfioRegionDmaRange>()];
        var feature = new VfioDeviceFeature { Argsz = (uint)memory.Length, Flags = VfioUapi.DeviceFeatureGet | VfioUapi.DeviceFeatureDmaBuf };
        var dmaBuf = new VfioDeviceFeatureDmaBuf { RegionIndex = 0, NrRanges = 1 };
        var range = new VfioRegionDmaRange { Offset = 0, Length = RangeBytes };
        MemoryMarshal.Write(memory, in feature);
        MemoryMarshal.Write(memory.AsSpan(header), in dmaBuf);
        MemoryMarshal.Write(memory.AsSpan(header + request), in range);
        return memory;
    }

    private bool RoundTrip(DmaDevice dev)
    {
        DmaBufAttachment attach = _host.DmaBufDynamicAttach(_dmabuf, dev, _ops, -1).Value;
        Result<SgTable> table = _host.DmaBufMapAttachmentUnlocked(attach, DmaDirection.Bidirectional);
        _host.DmaBufUnmapAttachmentUnlocked(attach, table.Value, DmaDirection.Bidirectional);
        _host.DmaBufDetach(_dmabuf, attach);
        return table.IsSuccess;
    }

    private void MapEvery()
    {
        _dmabuf.Resv.Lock();
        for (int i = 0; i < _attachments.Length; i++)
        {
            _tables[i] = _host.DmaBufMapAttachment(_attachments[i], DmaDirection.Bidirectional).Value;
        }

        _dmabuf.Resv.Unlock();
    }

    private void UnmapEvery()
    {
        _dmabuf.Resv.Lock();
        for (int i = 0; i < _attachments.Length; i++)
        {
            Unmap(_attachments[i]);
        }

        _dmabuf.Resv.Unlock();
    }

    /// <summary>The importers' notify: unmap now (with the reservation lock the caller holds).</summary>
    private void Unmap(DmaBufAttachment attach)
    {
        int i = (int)attach.ImporterPriv!;
        if (i >= 0 && _tables[i] is SgTable table)
        {
            _host.DmaBufUnmapAttachment(attach, table, DmaDirection.Bidirectional);
            _tables[i] = null;
        }

        _notified++;
    }

    private void Count(DmaBufAttachment attach) => _notified++;

    private void WriteCommand(ushort command)
    {
        Span<byte> value = stackalloc byte[2];
        value[0] = (byte)command;
        value[1] = (byte)(command >> 8);
        if (!_vdev.ConfigWrite(_user, _deviceFd, PciConfig.Command, value).IsSuccess)
        {
            throw new InvalidOperationException("command write failed");
        }
    }
}
