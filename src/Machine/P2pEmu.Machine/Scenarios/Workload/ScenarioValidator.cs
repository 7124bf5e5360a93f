using System;
using System.Collections.Generic;
using System.Linq;
using P2pEmu.Dma.Block;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Emulator.Topology.Json;

namespace P2pEmu.Machine.Scenarios.Workload;

/// <summary>
/// The checks of a scenario that need its machine: every name is a device of the right kind for where it stands, and
/// every buffer fits. Each mistake is one <see cref="TopologyException"/> naming the JSON path, before anything runs.
/// </summary>
public static class ScenarioValidator
{
    /// <exception cref="TopologyException">A transfer or fault names something the machine does not have, or asks too much of it.</exception>
    public static void Validate(Machine machine, ScenarioDescription scenario)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(scenario);
        foreach (WorkloadTransfer t in scenario.Transfers)
        {
            ValidateTransfer(machine, t);
        }

        foreach (FaultInjection f in scenario.Faults)
        {
            ValidateFault(machine, f);
        }
    }

    private static void ValidateTransfer(Machine machine, WorkloadTransfer t)
    {
        string from = JsonValues.PropertyPath(t.JsonPath, "from");
        string to = JsonValues.PropertyPath(t.JsonPath, "to");
        ulong bytes = t.Offset + t.Size;
        switch (t.Kind)
        {
            case TransferKind.Dma:
                Require(Endpoints(machine).Contains(t.From), from, $"no endpoint function '{t.From}'", Endpoints(machine));
                RequireMemory(machine, t.To, to, bytes);
                break;
            case TransferKind.Storage:
            case TransferKind.Pgmap:
                bool read = machine.BlockDevices.ContainsKey(t.From);
                Require(read || machine.BlockDevices.ContainsKey(t.To), from, $"neither '{t.From}' nor '{t.To}' is a drive: one end of a {ScenarioFile.KindText(t.Kind)} transfer must be", machine.BlockDevices.Keys);
                BlockDevice disk = machine.BlockDevices[read ? t.From : t.To];
                if (bytes > disk.SizeBytes)
                {
                    throw new TopologyException(JsonValues.PropertyPath(t.JsonPath, "size"), $"offset {t.Offset} + size {t.Size} is past the end of {disk.Name} ({disk.SizeBytes} bytes)");
                }

                RequireMemory(machine, read ? t.To : t.From, read ? to : from, bytes);
                break;
            case TransferKind.Rdma:
                RequireLinkedNic(machine, t.From, from);
                RequireMemory(machine, t.To, to, bytes);
                break;
            case TransferKind.Dmabuf:
                RequireLinkedNic(machine, t.From, from);
                List<string> accelerators = [.. machine.Vfio.Devices.Where(v => machine.Accelerators.ContainsKey(v.Pdev.Name)).Select(v => v.Pdev.Name)];
                Require(accelerators.Contains(t.To), to, $"no accelerator bound to vfio-pci named '{t.To}'", accelerators);
                ulong memory = ((PciEndpoint)machine.Fabric[t.To]).GetBar(1)?.SizeBytes ?? 0;
                if (DmabufTransfer.ExportedBytes(t) > memory)
                {
                    throw new TopologyException(JsonValues.PropertyPath(t.JsonPath, "size"), $"offset {t.Offset} + size {t.Size} is more than {t.To}'s {memory} bytes of memory");
                }

                break;
        }
    }

    private static void ValidateFault(Machine machine, FaultInjection f)
    {
        string device = JsonValues.PropertyPath(f.JsonPath, "device");
        switch (f.Action)
        {
            case FaultAction.RemoveProvider:
                List<string> providers = Providers(machine);
                Require(providers.Contains(f.Device), device, $"'{f.Device}' is not a P2PDMA provider", providers);
                break;
            case FaultAction.ResetDevice:
                List<string> vfio = [.. machine.Vfio.Devices.Select(v => v.Pdev.Name)];
                Require(vfio.Contains(f.Device), device, $"reset-device is VFIO_DEVICE_RESET: '{f.Device}' is not bound to vfio-pci", vfio);
                break;
            case FaultAction.FlipAcs:
                List<string> ports = [.. machine.Fabric.Functions.Where(p => p.AcsCapabilityOffset != 0).Select(p => p.Name)];
                Require(ports.Contains(f.Device), device, $"'{f.Device}' has no ACS capability", ports);
                PciFunction port = machine.Fabric[f.Device];
                if ((f.Bits & ~port.AcsCapability) != 0)
                {
                    throw new TopologyException(JsonValues.PropertyPath(f.JsonPath, "bits"), $"{f.Device} cannot set {AcsText.Describe(f.Bits & ~port.AcsCapability)}: its ACS capability has {AcsText.Describe(port.AcsCapability)}");
                }

                break;
        }
    }

    private static void RequireMemory(Machine machine, string name, string path, ulong bytes)
    {
        if (name == ScenarioBuffer.Host)
        {
            return;
        }

        List<string> providers = Providers(machine);
        Require(providers.Contains(name), path, $"'{name}' is neither \"host\" nor a device that publishes p2pmem", providers);
        ulong available = machine.P2pDma.GetP2pmemSysfs(machine.Fabric[name])?.Available ?? 0;
        if (bytes > available)
        {
            throw new TopologyException(path, $"{name} has {available} bytes of p2pmem available, the transfer needs {bytes}");
        }
    }

    private static void RequireLinkedNic(Machine machine, string name, string path)
    {
        List<string> nics = [.. machine.RdmaDevices.Keys.Where(n => machine.NicLinks.Any(l => l.A == n || l.B == n))];
        Require(nics.Contains(name), path, $"no cabled NIC named '{name}' (the far end of its link receives)", nics);
    }

    private static List<string> Endpoints(Machine machine) =>
        [.. machine.Fabric.Functions.Where(f => f is PciEndpoint && f.Kind != DeviceKind.HostBridge).Select(f => f.Name)];

    private static List<string> Providers(Machine machine) =>
        [.. machine.Fabric.Functions.Where(machine.P2pDma.PciHasP2pmem).Select(f => f.Name)];

    private static void Require(bool ok, string path, string problem, IEnumerable<string> choices)
    {
        if (!ok)
        {
            string list = string.Join(", ", choices);
            throw new TopologyException(path, $"{problem} ({(list.Length == 0 ? "the machine has none" : "choices: " + list)})");
        }
    }
}
