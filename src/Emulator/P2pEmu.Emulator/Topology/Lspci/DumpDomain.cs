using System;
using System.Collections.Generic;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Emulator.Topology.Lspci;

/// <summary>
/// The functions of one PCI domain of a dump, turned into host bridge descriptions: validates bridge bus
/// numbers, matches VFs to their PFs, finds the root buses, and walks each hierarchy down from them.
/// </summary>
internal sealed partial class DumpDomain
{
    private readonly int _domain;
    private readonly List<DumpFunction> _functions;
    private readonly Dictionary<int, DumpFunction> _byRoutingId = new();
    private readonly Dictionary<int, DumpFunction> _bridgeBySecondary = new();
    private readonly SortedDictionary<int, List<DumpFunction>> _byBus = new();

    /// <param name="functions">The domain's functions, sorted by routing ID.</param>
    public DumpDomain(List<DumpFunction> functions)
    {
        _functions = functions;
        _domain = functions[0].Domain;
        foreach (DumpFunction function in functions)
        {
            _byRoutingId.Add(function.RoutingId, function);
        }

        ValidateBridges();
        MatchVirtualFunctions();
        GroupByBus();
        _resourceStarts = CollectResourceStarts();
    }

    private enum BusRole
    {
        /// <summary>A host bridge's root bus: root ports, root complex integrated endpoints, the host bridge function.</summary>
        Root,

        /// <summary>The bus below a root port or switch downstream port: endpoints or a switch upstream port.</summary>
        Link,
    }

    /// <summary>One host bridge per root bus, in ascending bus order.</summary>
    public List<HostBridgeDescription> BuildHostBridges()
    {
        var hostBridges = new List<HostBridgeDescription>();
        foreach ((int bus, List<DumpFunction> functions) in _byBus)
        {
            if (_bridgeBySecondary.ContainsKey(bus))
            {
                continue;
            }

            string name = $"hb{_domain:x4}:{bus:x2}";
            hostBridges.Add(new HostBridgeDescription(name, _domain, bus, IommuMode.Off, false, BuildBus(bus, BusRole.Root), functions[0].Location));
        }

        return hostBridges;
    }

    private void ValidateBridges()
    {
        foreach (DumpFunction function in _functions)
        {
            if (!function.IsBridge)
            {
                continue;
            }

            int secondary = function.SecondaryBus;
            int subordinate = function.SubordinateBus;
            if (secondary == 0 || secondary <= function.Bus)
            {
                throw new TopologyException(function.Location, $"bridge {function.Address} has secondary bus {secondary:x2}, which is not above its own bus {function.Bus:x2} (an unconfigured bridge?)");
            }

            if (subordinate < secondary)
            {
                throw new TopologyException(function.Location, $"bridge {function.Address} has subordinate bus {subordinate:x2} below its secondary bus {secondary:x2}");
            }

            if (!_bridgeBySecondary.TryAdd(secondary, function))
            {
                DumpFunction other = _bridgeBySecondary[secondary];
                throw new TopologyException(function.Location, $"bridge {function.Address} has secondary bus {secondary:x2}, which bridge {other.Address} ({other.Location}) already has");
            }
        }
    }

    /// <summary>Marks every function at a PF's SR-IOV VF routing ID (PCIe base spec, "First VF Offset", "VF Stride") as its VF.</summary>
    private void MatchVirtualFunctions()
    {
        foreach (DumpFunction pf in _functions)
        {
            if (pf.HeaderLayout != PciConfig.HeaderTypeNormal || pf.VendorId == 0xFFFF)
            {
                continue;
            }

            int sriov = FindExtended(pf, PciConfig.ExtCapIdSriov, SriovConfig.Length);
            if (sriov == 0)
            {
                continue;
            }

            int numVfs = pf.Config.Read16(sriov + SriovConfig.NumVf);
            int firstOffset = pf.Config.Read16(sriov + SriovConfig.VfOffset);
            int stride = pf.Config.Read16(sriov + SriovConfig.VfStride);
            ushort vfDeviceId = pf.Config.Read16(sriov + SriovConfig.VfDeviceId);
            for (int i = 0; i < numVfs; i++)
            {
                int routingId = pf.RoutingId + firstOffset + (i * stride);
                if (routingId > 0xFFFF)
                {
                    break;
                }

                // A VF's Vendor and Device ID read ffff; a tool that patched them in shows the PF's vendor and the VF Device ID.
                if (_byRoutingId.TryGetValue(routingId, out DumpFunction? vf) && vf != pf && vf.PhysicalFunction is null
                    && vf.HeaderLayout == PciConfig.HeaderTypeNormal
                    && (vf.VendorId == 0xFFFF || (vf.VendorId == pf.VendorId && vf.DeviceId == vfDeviceId)))
                {
                    vf.PhysicalFunction = pf;
                    pf.VfCount++;
                }
            }
        }

        foreach (DumpFunction function in _functions)
        {
            if (function.VendorId == 0xFFFF && function.PhysicalFunction is null)
            {
                throw new TopologyException(function.Location, $"function {function.Address} reads Vendor ID ffff (nothing responds) and is not at the VF routing ID of any PF's SR-IOV capability in the dump");
            }
        }
    }

    private void GroupByBus()
    {
        foreach (DumpFunction function in _functions)
        {
            if (function.PhysicalFunction is not null)
            {
                continue;
            }

            if (!_bridgeBySecondary.ContainsKey(function.Bus))
            {
                foreach (DumpFunction bridge in _bridgeBySecondary.Values)
                {
                    if (function.Bus >= bridge.SecondaryBus && function.Bus <= bridge.SubordinateBus)
                    {
                        throw new TopologyException(function.Location, $"function {function.Address} is on bus {function.Bus:x2}, inside the bus range {bridge.SecondaryBus:x2}-{bridge.SubordinateBus:x2} of bridge {bridge.Address}, but no bridge in the dump has {function.Bus:x2} as its secondary bus");
                    }
                }
            }

            if (!_byBus.TryGetValue(function.Bus, out List<DumpFunction>? list))
            {
                list = new List<DumpFunction>();
                _byBus.Add(function.Bus, list);
            }

            list.Add(function);
        }
    }

    private List<DeviceDescription> BuildBus(int bus, BusRole role)
    {
        var entries = new List<DeviceDescription>();
        if (!_byBus.TryGetValue(bus, out List<DumpFunction>? functions))
        {
            return entries;
        }

        // Functions are in routing-ID order; bridges are entries of their own, the other functions of one
        // device number form one multi-function entry placed at its lowest function.
        for (int i = 0; i < functions.Count; i++)
        {
            DumpFunction function = functions[i];
            if (function.IsBridge)
            {
                entries.Add(BuildBridge(function, role));
                continue;
            }

            if (function.HeaderLayout != PciConfig.HeaderTypeNormal)
            {
                throw new TopologyException(function.Location, $"function {function.Address} has header type {function.HeaderLayout:x2} (a CardBus bridge?); only type 0 functions and type 1 bridges are supported");
            }

            if (IsGroupedAfterFirst(functions, i))
            {
                continue;
            }

            var extra = new List<DeviceDescription>();
            for (int j = i + 1; j < functions.Count && functions[j].Device == function.Device; j++)
            {
                if (functions[j].HeaderLayout == PciConfig.HeaderTypeNormal)
                {
                    extra.Add(BuildEndpoint(functions[j], role));
                }
            }

            entries.Add(BuildEndpoint(function, role) with { Functions = extra });
        }

        return entries;
    }

    /// <summary>True when an earlier type 0 function of the same device already started the multi-function entry.</summary>
    private static bool IsGroupedAfterFirst(List<DumpFunction> functions, int index)
    {
        for (int j = index - 1; j >= 0 && functions[j].Device == functions[index].Device; j--)
        {
            if (functions[j].HeaderLayout == PciConfig.HeaderTypeNormal)
            {
                return true;
            }
        }

        return false;
    }

    private DeviceDescription BuildBridge(DumpFunction bridge, BusRole role)
    {
        PciExpressPortType? portType = bridge.PortType;
        if (role == BusRole.Root)
        {
            if (portType is not null and not PciExpressPortType.RootPort)
            {
                throw Unsupported(bridge, $"a PCI Express {Describe(portType.Value)} on root bus {bridge.Bus:x2}; a root bus holds root ports, the host bridge and integrated endpoints");
            }

            // A conventional PCI bridge on a root bus stands where a root port would.
            return new DeviceDescription(bridge.Address, DeviceKind.RootPort, bridge.Location)
            {
                Slot = bridge.Slot,
                VendorId = bridge.VendorId,
                DeviceId = bridge.DeviceId,
                Acs = ReadAcs(bridge),
                SecondaryBus = bridge.SecondaryBus,
                Children = BuildBus(bridge.SecondaryBus, BusRole.Link),
            };
        }

        if (portType is null)
        {
            throw Unsupported(bridge, $"a PCI bridge without a PCI Express capability below bus {bridge.Bus:x2}");
        }

        if (portType != PciExpressPortType.UpstreamPort)
        {
            throw Unsupported(bridge, $"a PCI Express {Describe(portType.Value)} on the link below a port; only a switch upstream port or endpoints can sit there");
        }

        return BuildSwitch(bridge);
    }

    private DeviceDescription BuildSwitch(DumpFunction upstream)
    {
        if (upstream.Function != 0)
        {
            throw Unsupported(upstream, $"a switch upstream port at function {upstream.Function}; the emulator places a switch's upstream port at function 0");
        }

        var ports = new List<PortDescription>();
        if (_byBus.TryGetValue(upstream.SecondaryBus, out List<DumpFunction>? internalBus))
        {
            foreach (DumpFunction port in internalBus)
            {
                if (!port.IsBridge || port.PortType != PciExpressPortType.DownstreamPort)
                {
                    throw Unsupported(port, $"a function other than a downstream port on the internal bus {port.Bus:x2} of switch {upstream.Address}");
                }

                if (port.Function != 0)
                {
                    throw Unsupported(port, $"a switch downstream port at function {port.Function}; the emulator places downstream ports at function 0");
                }

                ports.Add(new PortDescription(port.Address, ReadAcs(port), BuildBus(port.SecondaryBus, BusRole.Link), port.Location)
                {
                    VendorId = port.VendorId,
                    DeviceId = port.DeviceId,
                    SecondaryBus = port.SecondaryBus,
                    Slot = port.Slot,
                });
            }
        }

        var up = new PortDescription(upstream.Address, ReadAcs(upstream), Array.Empty<DeviceDescription>(), upstream.Location)
        {
            VendorId = upstream.VendorId,
            DeviceId = upstream.DeviceId,
            SecondaryBus = upstream.SecondaryBus,
            Slot = upstream.Slot,
        };
        return new DeviceDescription("sw" + upstream.Address, DeviceKind.Switch, upstream.Location)
        {
            Slot = upstream.Slot,
            VendorId = upstream.VendorId,
            DeviceId = upstream.DeviceId,
            Upstream = up,
            Ports = ports,
        };
    }

    private DeviceDescription BuildEndpoint(DumpFunction function, BusRole role)
    {
        uint classCode = function.ClassCode;
        bool hostBridge = role == BusRole.Root && function.DevFn == 0 && (classCode >> 8) == 0x0600;
        return new DeviceDescription(function.Address, hostBridge ? DeviceKind.HostBridge : DeviceKind.Endpoint, function.Location)
        {
            Slot = function.Slot,
            VendorId = function.VendorId,
            DeviceId = function.DeviceId,
            ClassCode = classCode,
            Acs = ReadAcs(function),
            Bars = hostBridge ? Array.Empty<BarDescription>() : ReadBars(function),
            Vfs = function.VfCount,
        };
    }

    private static AcsDescription? ReadAcs(DumpFunction function)
    {
        ConfigSpace config = function.Config;
        int acs = FindExtended(function, PciConfig.ExtCapIdAcs, AcsConfig.EgressVector);
        if (acs == 0)
        {
            return null;
        }

        ushort capabilityRegister = config.Read16(acs + AcsConfig.Capability);
        var capability = (AcsFlags)(capabilityRegister & (ushort)AcsFlags.All);
        var control = (AcsFlags)(config.Read16(acs + AcsConfig.Control) & (ushort)AcsFlags.All);
        if ((capability & AcsFlags.EC) == 0)
        {
            return new AcsDescription(capability, control, 0);
        }

        if (acs + AcsConfig.EgressVector + 4 > ConfigSpace.Size)
        {
            throw new TopologyException(function.Location, $"the ACS egress control vector of {function.Address} at offset {acs + AcsConfig.EgressVector:x3} runs past the end of config space");
        }

        // ACS Capability bits 15:8: Egress Control Vector Size, 0 meaning 256.
        int vectorBits = capabilityRegister >> 8;
        return new AcsDescription(capability, control, config.Read32(acs + AcsConfig.EgressVector))
        {
            EgressVectorBits = vectorBits == 0 ? 256 : vectorBits,
        };
    }

    /// <summary>Finds an extended capability whose registers (<paramref name="lengthBytes"/>) lie inside config space.</summary>
    private static int FindExtended(DumpFunction function, ushort id, int lengthBytes)
    {
        int offset = CapabilityLayout.FindExtended(function.Config, id);
        if (offset != 0 && offset + lengthBytes > ConfigSpace.Size)
        {
            throw new TopologyException(function.Location, $"extended capability {id:x4} of {function.Address} at offset {offset:x3} runs past the end of config space");
        }

        return offset;
    }

    private static TopologyException Unsupported(DumpFunction function, string what) =>
        new(function.Location, $"function {function.Address} is {what}: not supported by the emulator");

    private static string Describe(PciExpressPortType type) => type switch
    {
        PciExpressPortType.Endpoint => "endpoint",
        PciExpressPortType.LegacyEndpoint => "legacy endpoint",
        PciExpressPortType.RootPort => "root port",
        PciExpressPortType.UpstreamPort => "switch upstream port",
        PciExpressPortType.DownstreamPort => "switch downstream port",
        PciExpressPortType.PciBridge => "PCI Express-to-PCI bridge",
        PciExpressPortType.PcieBridge => "PCI-to-PCI Express bridge",
        PciExpressPortType.RootComplexIntegratedEndpoint => "root complex integrated endpoint",
        PciExpressPortType.RootComplexEventCollector => "root complex event collector",
        _ => $"port type {(int)type:x}",
    };
}
