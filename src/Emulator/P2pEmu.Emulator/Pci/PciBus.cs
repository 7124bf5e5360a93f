using System.Collections.Generic;
using P2pEmu.Emulator.Fabric;

namespace P2pEmu.Emulator.Pci;

/// <summary>A PCI bus: a host bridge's root bus, or the secondary bus of a bridge.</summary>
public sealed class PciBus
{
    private readonly List<PciFunction> _functions = new();
    private readonly List<PciBridge> _bridges = new();
    private readonly List<PciEndpoint> _endpoints = new();
    private readonly int _rootNumber;

    internal PciBus(HostBridge hostBridge, PciBridge? self, int rootNumber)
    {
        HostBridge = hostBridge;
        Self = self;
        _rootNumber = rootNumber;
    }

    public HostBridge HostBridge { get; }

    /// <summary>The bridge whose secondary bus this is; null for a root bus (Linux <c>bus->self</c>).</summary>
    public PciBridge? Self { get; }

    public bool IsRootBus => Self is null;

    /// <summary>The bus number: fixed for a root bus, the parent bridge's Secondary Bus Number otherwise.</summary>
    public int Number => Self is null ? _rootNumber : Self.SecondaryBusNumber;

    /// <summary>Functions on this bus in the order the kernel lists them.</summary>
    public IReadOnlyList<PciFunction> Functions => _functions;

    internal List<PciBridge> Bridges => _bridges;

    internal List<PciEndpoint> Endpoints => _endpoints;

    internal void Add(PciFunction function)
    {
        _functions.Add(function);
        if (function is PciBridge bridge)
        {
            _bridges.Add(bridge);
        }
        else if (function is PciEndpoint endpoint)
        {
            _endpoints.Add(endpoint);
        }
    }
}
