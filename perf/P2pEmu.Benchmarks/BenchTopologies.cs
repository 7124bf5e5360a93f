using System;
using System.Linq;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Benchmarks;

/// <summary>
/// Topologies the benchmarks build, as the same description records a topology file yields (the benchmarks
/// project does not reference P2pEmu.Testing, so this is a small local equivalent of its <c>Topo</c>).
/// </summary>
internal static class BenchTopologies
{
    public const ulong MiB = 1UL << 20;

    public const ulong GiB = 1UL << 30;

    /// <summary>Size of each endpoint's prefetchable BAR in <see cref="Hb0"/>.</summary>
    public const ulong Hb0BarBytes = 64 * MiB;

    /// <summary>Host RAM of <see cref="Hb0"/> (committed lazily; only what a benchmark touches is resident).</summary>
    public const ulong Hb0RamBytes = 256 * MiB;

    /// <summary>Host RAM of <see cref="Large"/>.</summary>
    public const ulong LargeRamBytes = 16 * GiB;

    /// <summary>Size of each endpoint's prefetchable BAR in <see cref="Large"/>.</summary>
    public const ulong LargeBarBytes = 16 * GiB;

    /// <summary>Number of endpoints in <see cref="Large"/>: 3 × 16 GiB of BARs + 16 GiB RAM = 64 GiB.</summary>
    public const int LargeEndpoints = 3;

    /// <summary>
    /// hb0: rp → switch sw0 {dp0 → a, dp1 → b, dp2 → c}, rp2 → d; every endpoint has one 64 MiB 64-bit
    /// prefetchable BAR0. No IOMMU, no root-complex P2P between root ports.
    /// </summary>
    /// <param name="dp0Control">ACS Control of sw0.dp0 (a's ingress port); <see cref="AcsFlags.None"/> leaves ACS absent.</param>
    public static TopologyDescription Hb0(AcsFlags dp0Control = AcsFlags.None)
    {
        AcsDescription? dp0Acs = dp0Control == AcsFlags.None ? null : new AcsDescription(AcsFlags.All, dp0Control, 0);
        DeviceDescription sw0 = new DeviceDescription("sw0", DeviceKind.Switch, Path("sw0"))
        {
            Upstream = new PortDescription("sw0.up", null, Array.Empty<DeviceDescription>(), Path("sw0.up")),
            Ports = new[]
            {
                new PortDescription("sw0.dp0", dp0Acs, new[] { Endpoint("a", Hb0BarBytes) }, Path("sw0.dp0")),
                new PortDescription("sw0.dp1", null, new[] { Endpoint("b", Hb0BarBytes) }, Path("sw0.dp1")),
                new PortDescription("sw0.dp2", null, new[] { Endpoint("c", Hb0BarBytes) }, Path("sw0.dp2")),
            },
        };

        DeviceDescription rp = RootPort("rp", sw0);
        DeviceDescription rp2 = RootPort("rp2", Endpoint("d", Hb0BarBytes));
        return Machine(Hb0RamBytes, HostBridge("hb0", rp, rp2));
    }

    /// <summary>
    /// A 64 GiB machine: 16 GiB of host RAM and <see cref="LargeEndpoints"/> endpoints with a 16 GiB 64-bit
    /// prefetchable BAR each, one per root port.
    /// </summary>
    public static TopologyDescription Large()
    {
        var ports = new DeviceDescription[LargeEndpoints];
        for (int i = 0; i < ports.Length; i++)
        {
            ports[i] = RootPort("rp" + i, Endpoint("gpu" + i, LargeBarBytes));
        }

        return Machine(LargeRamBytes, HostBridge("hb0", ports));
    }

    /// <summary>Endpoint functions in <see cref="Matrix1024"/>.</summary>
    public const int MatrixEndpoints = 1024;

    /// <summary>
    /// 1024 endpoint functions: 4 root ports, each with a 32-port switch, each port with an 8-function
    /// device (4 KiB BAR per function). Every other downstream port has the ACS control Linux sets with an
    /// IOMMU (SV RR CR UF), and the root-bus host device 8086:2020 is on the allow list, so the matrix mixes
    /// BUS_ADDR and THRU_HOST_BRIDGE verdicts.
    /// </summary>
    public static TopologyDescription Matrix1024()
    {
        var rootPorts = new DeviceDescription[4];
        for (int r = 0; r < rootPorts.Length; r++)
        {
            var ports = new PortDescription[32];
            for (int p = 0; p < ports.Length; p++)
            {
                string device = $"ep{r}.{p}";
                var functions = new DeviceDescription[7];
                for (int f = 0; f < functions.Length; f++)
                {
                    functions[f] = Endpoint($"{device}.f{f + 1}", 4096);
                }

                AcsDescription? acs = p % 2 == 0 ? null : new AcsDescription(AcsFlags.All, AcsFlags.SV | AcsFlags.RR | AcsFlags.CR | AcsFlags.UF, 0);
                ports[p] = new PortDescription($"sw{r}.dp{p}", acs, new[] { Endpoint(device, 4096) with { Functions = functions } }, Path($"sw{r}.dp{p}"));
            }

            DeviceDescription sw = new($"sw{r}", DeviceKind.Switch, Path($"sw{r}"))
            {
                Upstream = new PortDescription($"sw{r}.up", null, Array.Empty<DeviceDescription>(), Path($"sw{r}.up")),
                Ports = ports,
            };
            rootPorts[r] = RootPort($"rp{r}", sw);
        }

        DeviceDescription hostDevice = new("hostdev", DeviceKind.HostBridge, Path("hostdev")) { Slot = new PciSlot(0, 0), VendorId = 0x8086, DeviceId = 0x2020 };
        return Machine(Hb0RamBytes, HostBridge("hb0", new[] { hostDevice }.Concat(rootPorts).ToArray()));
    }

    /// <summary>Namespace size of <see cref="NvmePair"/>'s nvme0 (RAM-backed; 8× the L3, so random reads miss the caches).</summary>
    public const ulong NvmeNamespaceBytes = 256 * MiB;

    /// <summary>CMB size of <see cref="NvmePair"/>'s nvme1 (a multiple of 2 MiB, so the driver registers it as p2pmem).</summary>
    public const ulong NvmeCmbBytes = 16 * MiB;

    /// <summary>
    /// nvme: hb0 with an IOMMU in <paramref name="iommu"/> mode (translating by default) and the allow-listed host device 8086:2020, rp0 → switch sw0 {dp0 → nvme0 (one
    /// RAM-backed namespace of <see cref="NvmeNamespaceBytes"/>, no CMB), dp1 → nvme1 (a <see cref="NvmeCmbBytes"/>
    /// CMB and a 16 MiB namespace)}, 256 MiB of host RAM. No ACS on the switch ports, so nvme0 → nvme1's CMB is
    /// BUS_ADDR and turns around in sw0.
    /// </summary>
    public static TopologyDescription NvmePair(IommuMode iommu = IommuMode.Translate)
    {
        DeviceDescription sw0 = new DeviceDescription("sw0", DeviceKind.Switch, Path("sw0"))
        {
            Upstream = new PortDescription("sw0.up", null, Array.Empty<DeviceDescription>(), Path("sw0.up")),
            Ports = new[]
            {
                new PortDescription("sw0.dp0", null, new[] { Nvme("nvme0", 0, NvmeNamespaceBytes) }, Path("sw0.dp0")),
                new PortDescription("sw0.dp1", null, new[] { Nvme("nvme1", NvmeCmbBytes, 16 * MiB) }, Path("sw0.dp1")),
            },
        };

        DeviceDescription hostDevice = new("hostdev", DeviceKind.HostBridge, Path("hostdev")) { Slot = new PciSlot(0, 0), VendorId = 0x8086, DeviceId = 0x2020 };
        HostBridgeDescription hb0 = HostBridge("hb0", hostDevice, RootPort("rp0", sw0)) with { Iommu = iommu };
        return Machine(Hb0RamBytes, hb0);
    }

    /// <summary>Total bytes of BARs and RAM that <see cref="Large"/> maps.</summary>
    public static ulong LargeTotalBytes => LargeRamBytes + (LargeEndpoints * LargeBarBytes);

    private static TopologyDescription Machine(ulong ramBytes, params HostBridgeDescription[] hostBridges) =>
        new(PlatformDescription.Default with { RamBytes = ramBytes }, hostBridges);

    private static HostBridgeDescription HostBridge(string name, params DeviceDescription[] devices) =>
        new(name, 0, 0, IommuMode.Off, false, devices, $"$.hostBridges[{name}]");

    private static DeviceDescription RootPort(string name, params DeviceDescription[] children) =>
        new(name, DeviceKind.RootPort, Path(name)) { Children = children };

    private static DeviceDescription Endpoint(string name, ulong barBytes) =>
        new(name, DeviceKind.Endpoint, Path(name)) { Bars = new[] { new BarDescription(0, barBytes, true, true) } };

    private static DeviceDescription Nvme(string name, ulong cmbBytes, ulong namespaceBytes) =>
        new(name, DeviceKind.Nvme, Path(name))
        {
            CmbBytes = cmbBytes,
            Namespaces = new[] { new NamespaceDescription(namespaceBytes, null, $"$.{name}.namespaces[0]") { InRam = true } },
        };

    private static string Path(string name) => "$." + name;
}
