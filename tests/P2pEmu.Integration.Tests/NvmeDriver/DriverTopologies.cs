using System;
using P2pEmu.Drivers.Nvme;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;

namespace P2pEmu.Integration.Tests.NvmeDriver;

/// <summary>Topologies for the NVMe driver tests, built from the shared <see cref="Topo"/> helpers.</summary>
internal static class DriverTopologies
{
    public const ulong MiB = Topo.MiB;

    /// <summary>An NVMe function with namespaces of the given sizes and a CMB (0: none).</summary>
    public static DeviceDescription Nvme(string name, ulong cmbBytes, params ulong[] namespaceBytes)
    {
        var namespaces = new NamespaceDescription[namespaceBytes.Length];
        for (int i = 0; i < namespaceBytes.Length; i++)
        {
            namespaces[i] = new NamespaceDescription(namespaceBytes[i], null, $"$.{name}.namespaces[{i}]");
        }

        return new DeviceDescription(name, DeviceKind.Nvme, "$." + name) { CmbBytes = cmbBytes, Namespaces = namespaces };
    }

    /// <summary>A machine whose NVMe functions are all probed, in order, with <paramref name="options"/>.</summary>
    public static P2pEmu.Machine.Machine BuildWith(TopologyDescription topology, NvmeDriverOptions options)
    {
        P2pEmu.Machine.Machine machine = P2pEmu.Machine.Machine.Build(topology, bindDrivers: false);
        foreach (Emulator.Pci.PciFunction function in machine.Fabric.Functions)
        {
            if (NvmePciDriver.Matches(function) && !machine.NvmeDriver.Probe(function, options).IsSuccess)
            {
                machine.Dispose();
                throw new InvalidOperationException($"probe of {function} failed");
            }
        }

        return machine;
    }

    /// <summary>An NVMe function with one file-backed namespace.</summary>
    public static DeviceDescription NvmeWithFile(string name, ulong namespaceBytes, string path) =>
        new(name, DeviceKind.Nvme, "$." + name)
        {
            Namespaces = new[] { new NamespaceDescription(namespaceBytes, path, $"$.{name}.namespaces[0]") },
        };

    /// <summary>A machine of one host bridge with 64 MiB of RAM and the given IOMMU mode, an allow-listed host device first.</summary>
    public static TopologyDescription Machine(IommuMode iommu, bool rootComplexP2p, params DeviceDescription[] devices)
    {
        var all = new DeviceDescription[devices.Length + 1];
        all[0] = Topo.HostDevice(0x8086, 0x2020);
        Array.Copy(devices, 0, all, 1, devices.Length);
        return Topo.Machine(new HostBridgeDescription("hb0", 0, 0, iommu, rootComplexP2p, all, "$.hostBridges[0]"));
    }

    /// <summary>nvme0 alone below a root port, IOMMU off: the simplest machine.</summary>
    public static TopologyDescription Single(ulong cmbBytes = 0, IommuMode iommu = IommuMode.Off, params ulong[] namespaceBytes) =>
        Machine(iommu, true, Topo.RootPort("rp0", Nvme("nvme0", cmbBytes, namespaceBytes.Length == 0 ? new[] { 16 * MiB } : namespaceBytes)));

    /// <summary>
    /// nvme0 and nvme1 (a 4 MiB CMB) on two ports of one switch, IOMMU translating: with <paramref name="portAcs"/>
    /// empty the pair is BUS_ADDR (peer traffic turns around in the switch); with RR|CR it is THRU_HOST_BRIDGE.
    /// </summary>
    /// <param name="cmbOnBoth">Give nvme0 a 4 MiB CMB too (two providers).</param>
    /// <param name="iommu">The host bridge's IOMMU mode.</param>
    public static TopologyDescription SwitchPair(AcsFlags portAcs, bool cmbOnBoth = false, IommuMode iommu = IommuMode.Translate) =>
        Machine(iommu, true, Topo.RootPort("rp0", Topo.Switch("sw0",
            Topo.Port("sw0.dp0", portAcs, Nvme("nvme0", cmbOnBoth ? 4 * MiB : 0, 16 * MiB)),
            Topo.Port("sw0.dp1", portAcs, Nvme("nvme1", 4 * MiB, 16 * MiB)))));

    /// <summary>nvme0 and nvme1 (4 MiB CMB) behind two root ports of a Q35 host bridge that does not forward peer traffic: NOT_SUPPORTED.</summary>
    public static TopologyDescription TwoRootPortsNoP2p()
    {
        DeviceDescription host = Topo.HostDevice(0x8086, 0x29c0);
        return Topo.Machine(new HostBridgeDescription("hb0", 0, 0, IommuMode.Off, false, new[]
        {
            host,
            Topo.RootPort("rp0", Nvme("nvme0", 0, 16 * MiB)),
            Topo.RootPort("rp1", Nvme("nvme1", 4 * MiB, 16 * MiB)),
        }, "$.hostBridges[0]"));
    }
}
