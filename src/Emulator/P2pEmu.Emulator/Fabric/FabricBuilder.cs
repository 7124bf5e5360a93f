using System;
using System.Collections.Generic;
using P2pEmu.Emulator.Memory;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Emulator.Fabric;

/// <summary>
/// Builds a <see cref="PcieFabric"/> from a topology: creates every function with its config space, then
/// enumerates the way Linux does (depth-first bus numbers, BARs assigned into the host bridges' windows,
/// bridge windows covering their children), then enables memory decode and bus mastering. Everything is
/// programmed through config-space writes, so the fabric routes by what software wrote.
/// </summary>
/// <remarks>A bad topology throws <see cref="TopologyException"/> naming the JSON path; nothing is left allocated.</remarks>
public sealed partial class FabricBuilder
{
    /// <summary>The most host RAM a machine can have: RAM above 4 GiB must end below the 64-bit MMIO windows.</summary>
    public const ulong MaxRamBytes = Memory64Start - PcieFabric.HighRamBase + PcieFabric.LowRamLimit;

    private readonly TopologyDescription _topology;
    private readonly IEndpointModelFactory _models;
    private readonly List<HostBridge> _hostBridges = new();
    private readonly List<PciFunction> _created = new();
    private readonly List<PciEndpoint> _virtualFunctions = new();

    private FabricBuilder(TopologyDescription topology, IEndpointModelFactory? models)
    {
        _topology = topology;
        _models = models ?? DefaultEndpointModels.Instance;
    }

    /// <summary>Builds and enumerates the machine's fabric.</summary>
    /// <exception cref="TopologyException">The topology cannot be built (bus numbers or MMIO windows run out, slots collide, ...).</exception>
    public static PcieFabric Build(TopologyDescription topology, IEndpointModelFactory? models = null)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ulong ramBytes = topology.Platform.RamBytes;
        if (ramBytes == 0 || ramBytes > MaxRamBytes)
        {
            throw new TopologyException("$.platform.ram", $"host RAM must be between 1 byte and {MaxRamBytes >> 30} GiB (it sits below the 64-bit MMIO windows at 0x{Memory64Start:x})");
        }

        var builder = new FabricBuilder(topology, models);
        HostMemory? ram = null;
        try
        {
            builder.CreateHierarchy();
            builder.NumberBuses();
            builder.AssignResources();
            builder.EnableAll();
            ram = new HostMemory(topology.Platform.RamBytes);
            var fabric = new PcieFabric(topology, builder._hostBridges, builder.ListInKernelOrder(), ram);
            ram = null;
            return fabric;
        }
        catch
        {
            ram?.Dispose();
            foreach (PciFunction function in builder._created)
            {
                (function as PciEndpoint)?.Dispose();
            }

            throw;
        }
    }

    private void CreateHierarchy()
    {
        for (int i = 0; i < _topology.HostBridges.Count; i++)
        {
            HostBridgeDescription description = _topology.HostBridges[i];
            var hb = new HostBridge(i, description);
            _hostBridges.Add(hb);
            PlaceDevices(hb.RootBus, description.Devices, hb);
        }
    }

    private void PlaceDevices(PciBus bus, IReadOnlyList<DeviceDescription> devices, HostBridge hb)
    {
        var used = new Dictionary<int, string>();
        foreach (PciFunction existing in bus.Functions)
        {
            used[existing.DevFn] = existing.JsonPath;
        }

        int nextDevice = 0;
        foreach (DeviceDescription device in devices)
        {
            int deviceNumber;
            if (device.Slot is PciSlot slot)
            {
                deviceNumber = slot.Device;
                if (slot.Function != 0 && device.Kind == DeviceKind.Switch)
                {
                    throw new TopologyException(device.JsonPath + ".slot", $"a {KindName(device.Kind)} must be function 0 of its slot, not {slot}");
                }
            }
            else
            {
                while (nextDevice <= 0x1F && used.ContainsKey(nextDevice << 3))
                {
                    nextDevice++;
                }

                if (nextDevice > 0x1F)
                {
                    throw new TopologyException(device.JsonPath, $"no free slot left on bus of {bus.Self?.Name ?? hb.Name} (32 devices)");
                }

                deviceNumber = nextDevice;
            }

            if (!bus.IsRootBus && deviceNumber != 0 && bus.Self is { IsUpstreamPort: false })
            {
                throw new TopologyException(device.JsonPath + ".slot", $"a device below {bus.Self.Name} (a link) must be device 00, not {deviceNumber:x2}");
            }

            nextDevice = deviceNumber + 1;
            PlaceDevice(bus, device, deviceNumber, used, hb);
        }

        MarkMultiFunctionDevices(bus);
    }

    /// <summary>Sets the Multi-Function bit on every function of a device that has more than one (VFs do not count).</summary>
    private static void MarkMultiFunctionDevices(PciBus bus)
    {
        var functionsPerDevice = new Dictionary<int, int>();
        foreach (PciFunction function in bus.Functions)
        {
            if (function is not PciEndpoint { IsVirtualFunction: true })
            {
                functionsPerDevice[function.DevFn >> 3] = functionsPerDevice.GetValueOrDefault(function.DevFn >> 3) + 1;
            }
        }

        foreach (PciFunction function in bus.Functions)
        {
            if (function is not PciEndpoint { IsVirtualFunction: true } && functionsPerDevice[function.DevFn >> 3] > 1)
            {
                function.Config.Set8(PciConfig.HeaderType, (byte)(function.Config.Read8(PciConfig.HeaderType) | PciConfig.HeaderTypeMultiFunction));
            }
        }
    }

    private void PlaceDevice(PciBus bus, DeviceDescription device, int deviceNumber, Dictionary<int, string> used, HostBridge hb)
    {
        int function = device.Slot?.Function ?? 0;
        switch (device.Kind)
        {
            case DeviceKind.RootPort:
                if (!bus.IsRootBus)
                {
                    throw new TopologyException(device.JsonPath + ".kind", "a root-port must sit on a host bridge's root bus");
                }

                PciBridge rootPort = CreateBridge(device.Name, device.Kind, PciExpressPortType.RootPort, device.JsonPath, device.VendorId, device.DeviceId, device.Acs, deviceNumber, hb, device.SecondaryBus);
                Claim(bus, rootPort, (deviceNumber << 3) | function, used);
                PlaceDevices(rootPort.SecondaryBus, device.Children, hb);
                break;
            case DeviceKind.Switch:
                PlaceSwitch(bus, device, deviceNumber, used, hb);
                break;
            default:
                PlaceEndpointDevice(bus, device, deviceNumber, used);
                break;
        }
    }

    private void PlaceSwitch(PciBus bus, DeviceDescription device, int deviceNumber, Dictionary<int, string> used, HostBridge hb)
    {
        if (bus.IsRootBus)
        {
            throw new TopologyException(device.JsonPath + ".kind", "a switch must sit below a root port or a switch downstream port");
        }

        PortDescription up = device.Upstream ?? new PortDescription(device.Name + ".up", null, Array.Empty<DeviceDescription>(), device.JsonPath);
        PciBridge upstream = CreateBridge(up.Name, DeviceKind.Switch, PciExpressPortType.UpstreamPort, up.JsonPath, up.VendorId ?? device.VendorId, up.DeviceId ?? device.DeviceId, up.Acs, 0, hb, up.SecondaryBus);
        Claim(bus, upstream, deviceNumber << 3, used);
        var portsUsed = new Dictionary<int, string>();
        for (int i = 0; i < device.Ports.Count; i++)
        {
            PortDescription port = device.Ports[i];
            int portDevice = port.Slot?.Device ?? i;
            if (portDevice > 0x1F)
            {
                throw new TopologyException(port.JsonPath, "a switch has at most 32 downstream ports");
            }

            (ushort defaultVendor, ushort _) = DefaultEndpointModels.DefaultIds(DeviceKind.Switch);
            PciBridge downstream = CreateBridge(
                port.Name,
                DeviceKind.Switch,
                PciExpressPortType.DownstreamPort,
                port.JsonPath,
                port.VendorId ?? up.VendorId ?? device.VendorId ?? defaultVendor,
                port.DeviceId ?? (up.VendorId is null && device.VendorId is null ? DefaultEndpointModels.SwitchDownstreamDeviceId : up.DeviceId ?? device.DeviceId),
                port.Acs,
                portDevice,
                hb,
                port.SecondaryBus);
            Claim(upstream.SecondaryBus, downstream, portDevice << 3, portsUsed);
            PlaceDevices(downstream.SecondaryBus, port.Children, hb);
        }
    }

    private void PlaceEndpointDevice(PciBus bus, DeviceDescription device, int deviceNumber, Dictionary<int, string> used)
    {
        PciExpressPortType type = bus.IsRootBus ? PciExpressPortType.RootComplexIntegratedEndpoint : PciExpressPortType.Endpoint;
        var entries = new List<DeviceDescription>(1 + device.Functions.Count) { device };
        entries.AddRange(device.Functions);
        var placed = new List<PciEndpoint>(entries.Count);
        int maxFunction = 0;
        foreach (DeviceDescription entry in entries)
        {
            int fn = entry.Slot?.Function ?? (ReferenceEquals(entry, device) ? 0 : placed.Count);
            if (entry.Slot is PciSlot slot && !ReferenceEquals(entry, device) && slot.Device != deviceNumber)
            {
                throw new TopologyException(entry.JsonPath + ".slot", $"function {slot} must share device number {deviceNumber:x2} with {device.Name}");
            }

            PciEndpoint ep = CreateEndpoint(entry, type);
            Claim(bus, ep, (deviceNumber << 3) | fn, used);
            placed.Add(ep);
            maxFunction = Math.Max(maxFunction, fn);
        }

        int nextDevFn = (deviceNumber << 3) + maxFunction + 1;
        foreach (PciEndpoint pf in placed)
        {
            int vfs = pf.Description.Vfs;
            if (vfs == 0)
            {
                continue;
            }

            pf.SetVfRoutingLayout(nextDevFn - pf.DevFn);
            EndpointIdentity identity = _models.Describe(pf.Description);
            for (int i = 0; i < vfs; i++)
            {
                int devFn = nextDevFn + i;
                string vfName = $"{pf.Name}.vf{i + 1}";
                if (devFn > 0xFF)
                {
                    throw new TopologyException(pf.JsonPath + ".vfs", $"{vfs} VFs of {pf.Name} need routing IDs past the end of bus (devfn 0x{devFn:x})");
                }

                var vf = new PciEndpoint(pf, i, vfName, identity);
                Claim(bus, vf, devFn, used);
                _virtualFunctions.Add(vf);
            }

            nextDevFn += vfs;
        }
    }

    private PciEndpoint CreateEndpoint(DeviceDescription entry, PciExpressPortType type)
    {
        EndpointIdentity identity = _models.Describe(entry);
        var ep = new PciEndpoint(entry, entry.Name, type, identity, entry.Vfs);
        _created.Add(ep);
        return ep;
    }

    private PciBridge CreateBridge(string name, DeviceKind kind, PciExpressPortType type, string path, ushort? vendorId, ushort? deviceId, AcsDescription? acs, int portNumber, HostBridge hb, int? fixedSecondary)
    {
        (ushort vendor, ushort device) = DefaultEndpointModels.DefaultIds(kind);
        var bridge = new PciBridge(name, kind, type, path, vendorId ?? vendor, deviceId ?? device, acs, portNumber, hb);
        _created.Add(bridge);
        if (fixedSecondary is int secondary)
        {
            _fixedSecondary[bridge] = secondary;
        }

        return bridge;
    }

    private static void Claim(PciBus bus, PciFunction function, int devFn, Dictionary<int, string> used)
    {
        if (used.TryGetValue(devFn, out string? other))
        {
            throw new TopologyException(function.JsonPath, $"slot {devFn >> 3:x2}.{devFn & 7:x1} of {function.Name} is already taken by {other}");
        }

        used[devFn] = function.JsonPath;
        function.AttachTo(bus, devFn);
    }

    private static string KindName(DeviceKind kind) => kind switch
    {
        DeviceKind.RootPort => "root-port",
        DeviceKind.HostBridge => "host-bridge",
        _ => kind.ToString().ToLowerInvariant(),
    };

    /// <summary>Kernel list order: each bus's functions, then each bridge's subtree; VFs last (added when SR-IOV is enabled).</summary>
    private List<PciFunction> ListInKernelOrder()
    {
        var list = new List<PciFunction>(_created.Count + _virtualFunctions.Count);
        foreach (HostBridge hb in _hostBridges)
        {
            AddBus(hb.RootBus, list);
        }

        list.AddRange(_virtualFunctions);
        return list;

        static void AddBus(PciBus bus, List<PciFunction> list)
        {
            foreach (PciFunction function in bus.Functions)
            {
                if (function is not PciEndpoint { IsVirtualFunction: true })
                {
                    list.Add(function);
                }
            }

            foreach (PciBridge bridge in bus.Bridges)
            {
                AddBus(bridge.SecondaryBus, list);
            }
        }
    }
}
