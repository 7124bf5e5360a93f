using System.Collections.Generic;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Emulator.Fabric;

/// <content>Depth-first bus numbering, as Linux's pci_scan_bridge assigns it.</content>
public sealed partial class FabricBuilder
{
    private const int MaxBusNumber = 0xFF;

    private readonly Dictionary<PciBridge, int> _fixedSecondary = new();

    private void NumberBuses()
    {
        var taken = new Dictionary<(int Segment, int Bus), string>();
        foreach (HostBridge hb in _hostBridges)
        {
            int root = hb.RootBus.Number;
            MarkBus(taken, hb.Segment, root, hb.JsonPath);
            NumberBus(hb.RootBus, root, hb, taken);
        }
    }

    /// <summary>Numbers every bridge below <paramref name="bus"/>; returns the last bus number used.</summary>
    private int NumberBus(PciBus bus, int last, HostBridge hb, Dictionary<(int, int), string> taken)
    {
        foreach (PciBridge bridge in bus.Bridges)
        {
            int secondary = last + 1;
            if (_fixedSecondary.TryGetValue(bridge, out int fixedNumber))
            {
                if (fixedNumber <= last)
                {
                    throw new TopologyException(bridge.JsonPath, $"secondary bus {fixedNumber:x2} of {bridge.Name} is not above bus {last:x2} already used");
                }

                secondary = fixedNumber;
            }

            if (secondary > MaxBusNumber)
            {
                throw new TopologyException(bridge.JsonPath, $"too many buses: {bridge.Name} would need bus {secondary} but a PCI segment has only 256 (0-ff)");
            }

            MarkBus(taken, hb.Segment, secondary, bridge.JsonPath);
            bridge.Config.Write8(PciConfig.PrimaryBus, (byte)bus.Number);
            bridge.Config.Write8(PciConfig.SecondaryBus, (byte)secondary);
            bridge.Config.Write8(PciConfig.SubordinateBus, MaxBusNumber);
            int subordinate = NumberBus(bridge.SecondaryBus, secondary, hb, taken);
            bridge.Config.Write8(PciConfig.SubordinateBus, (byte)subordinate);
            last = subordinate;
        }

        return last;
    }

    private static void MarkBus(Dictionary<(int, int), string> taken, int segment, int bus, string path)
    {
        if (!taken.TryAdd((segment, bus), path))
        {
            throw new TopologyException(path, $"bus {segment:x4}:{bus:x2} is already used by {taken[(segment, bus)]}");
        }
    }
}
