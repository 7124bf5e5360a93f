using System;
using System.Collections.Generic;
using System.Linq;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Machine.Reports;

/// <summary>
/// Computes the verdicts <c>p2pemu p2p</c> shows: every ordered pair (provider, client) of endpoint
/// functions (endpoints, their extra functions and VFs, NVMe, NIC, accelerator; a function with itself
/// included), or one provider against the named clients with <c>pci_p2pdma_distance_many</c>.
/// </summary>
public static class P2pMatrix
{
    /// <summary>The endpoint functions of a machine, in kernel list order.</summary>
    public static IReadOnlyList<PciFunction> EndpointFunctions(Machine machine)
    {
        ArgumentNullException.ThrowIfNull(machine);
        return machine.Fabric.Functions.Where(f => f is PciEndpoint && f.Kind != DeviceKind.HostBridge).ToList();
    }

    /// <exception cref="TopologyException">A name is not an endpoint function of the machine, or clients are given without a provider.</exception>
    public static P2pReport Compute(Machine machine, string? provider, IReadOnlyList<string> clients)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(clients);
        IReadOnlyList<PciFunction> all = EndpointFunctions(machine);
        P2pDmaHost host = machine.P2pDma;
        if (provider is null)
        {
            if (clients.Count > 0)
            {
                throw new TopologyException("--client", "--client needs a --provider");
            }

            var pairs = new List<P2pVerdict>(all.Count * all.Count);
            foreach (PciFunction p in all)
            {
                foreach (PciFunction c in all)
                {
                    pairs.Add(host.Explain(p, c));
                }
            }

            return new P2pReport(pairs, null, Array.Empty<string>());
        }

        PciFunction providerFunction = Find(all, provider, "--provider");
        List<PciFunction> clientFunctions = clients.Count == 0 ? all.ToList() : clients.Select(c => Find(all, c, "--client")).ToList();
        List<P2pVerdict> verdicts = clientFunctions.Select(c => host.Explain(providerFunction, c)).ToList();
        int? distanceMany = clients.Count == 0
            ? null
            : host.PciP2pdmaDistanceMany(providerFunction, clientFunctions.Select(Device.ForPci).ToList(), verbose: true);
        return new P2pReport(verdicts, distanceMany, host.KernelLog);
    }

    /// <summary>The map type as the kernel spells it (<c>PCI_P2PDMA_MAP_…</c> without the prefix).</summary>
    public static string MapTypeName(PciP2pdmaMapType type) => type switch
    {
        PciP2pdmaMapType.BusAddr => "BUS_ADDR",
        PciP2pdmaMapType.ThruHostBridge => "THRU_HOST_BRIDGE",
        PciP2pdmaMapType.NotSupported => "NOT_SUPPORTED",
        PciP2pdmaMapType.None => "NONE",
        _ => "UNKNOWN",
    };

    private static PciFunction Find(IReadOnlyList<PciFunction> all, string name, string option) =>
        all.FirstOrDefault(f => f.Name == name || f.Address == name)
        ?? throw new TopologyException(option, $"no endpoint function named '{name}' (endpoint functions: {string.Join(", ", all.Select(f => f.Name))})");
}
