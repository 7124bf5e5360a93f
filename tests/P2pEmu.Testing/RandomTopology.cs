using System;
using System.Collections.Generic;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Testing;

/// <summary>
/// Seeded random topologies for property tests: host bridges with root ports, nested switches, endpoints
/// with extra functions and VFs, and ACS on ports and functions.
/// </summary>
public sealed class RandomTopology
{
    private readonly Random _random;
    private readonly AcsStyle _acs;
    private int _next;

    private RandomTopology(int seed, AcsStyle acs)
    {
        _random = new Random(seed);
        _acs = acs;
    }

    /// <summary>What ACS control values the generator puts on ports and functions.</summary>
    public enum AcsStyle
    {
        /// <summary>No ACS capability anywhere.</summary>
        None,

        /// <summary>Either none, or what Linux writes when an IOMMU asks for isolation (SV RR CR UF); never on upstream ports.</summary>
        Linux,

        /// <summary>Any control bits, on any function that may carry ACS, upstream ports included.</summary>
        Any,
    }

    public static TopologyDescription Generate(int seed, AcsStyle acs, CpuVendor cpu = CpuVendor.Intel, ushort hostDeviceId = 0x29C0)
    {
        var generator = new RandomTopology(seed, acs);
        int bridges = 1 + generator._random.Next(2);
        var hostBridges = new List<HostBridgeDescription>();
        for (int h = 0; h < bridges; h++)
        {
            var devices = new List<DeviceDescription> { Topo.HostDevice(0x8086, hostDeviceId) with { Name = $"hostdev{h}", JsonPath = $"$.hostdev{h}" } };
            int rootPorts = 2 + generator._random.Next(2);
            for (int r = 0; r < rootPorts; r++)
            {
                devices.Add(generator.RootPort());
            }

            if (generator._random.Next(3) == 0)
            {
                devices.Add(generator.Endpoint());
            }

            hostBridges.Add(new HostBridgeDescription($"hb{h}", 0, h * 0x80, IommuMode.Off, generator._random.Next(2) == 0, devices, $"$.hostBridges[{h}]"));
        }

        return new TopologyDescription(PlatformDescription.Default with { CpuVendor = cpu, CpuFamily = cpu == CpuVendor.Amd ? 0x19 : 6, RamBytes = 64 * Topo.MiB }, hostBridges);
    }

    private string Name(string prefix) => $"{prefix}{_next++}";

    private DeviceDescription RootPort()
    {
        string name = Name("rp");
        var children = new List<DeviceDescription> { _random.Next(2) == 0 ? Switch(2) : Endpoint() };
        return new DeviceDescription(name, DeviceKind.RootPort, "$." + name) { Children = children, Acs = PortAcs() };
    }

    private DeviceDescription Switch(int depth)
    {
        string name = Name("sw");
        int count = 2 + _random.Next(3);
        var ports = new List<PortDescription>();
        for (int p = 0; p < count; p++)
        {
            string port = Name("dp");
            DeviceDescription child = depth > 0 && _random.Next(4) == 0 ? Switch(depth - 1) : Endpoint();
            ports.Add(new PortDescription(port, PortAcs(), new[] { child }, "$." + port));
        }

        AcsDescription? upstream = _acs == AcsStyle.Any ? PortAcs() : null;
        return new DeviceDescription(name, DeviceKind.Switch, "$." + name)
        {
            Ports = ports,
            Upstream = new PortDescription(name + ".up", upstream, Array.Empty<DeviceDescription>(), "$." + name + ".up"),
        };
    }

    private DeviceDescription Endpoint()
    {
        string name = Name("ep");
        var functions = new List<DeviceDescription>();
        int extra = _random.Next(4) == 0 ? 1 + _random.Next(2) : 0;
        for (int f = 0; f < extra; f++)
        {
            functions.Add(Topo.Endpoint(name + ".f" + (f + 1), Topo.MiB) with { Acs = FunctionAcs() });
        }

        return Topo.Endpoint(name, 2 * Topo.MiB) with
        {
            Functions = functions,
            Vfs = _random.Next(5) == 0 ? 1 + _random.Next(3) : 0,
            Acs = extra > 0 ? FunctionAcs() : null,
        };
    }

    private AcsDescription? PortAcs() => _acs switch
    {
        AcsStyle.None => null,
        AcsStyle.Linux => _random.Next(2) == 0 ? null : Topo.Acs(AcsFlags.SV | AcsFlags.RR | AcsFlags.CR | AcsFlags.UF),
        _ => _random.Next(3) == 0 ? null : Topo.Acs((AcsFlags)_random.Next(0x80), (uint)_random.Next()),
    };

    private AcsDescription? FunctionAcs() => _acs switch
    {
        AcsStyle.None => null,
        AcsStyle.Linux => _random.Next(2) == 0 ? null : Topo.Acs(AcsFlags.RR | AcsFlags.CR),
        _ => _random.Next(2) == 0 ? null : Topo.Acs((AcsFlags)_random.Next(0x80), (uint)_random.Next()),
    };
}
