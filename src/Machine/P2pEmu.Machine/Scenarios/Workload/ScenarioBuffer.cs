using System;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Machine.Scenarios.Workload;

/// <summary>
/// A kernel buffer of a transfer, physically contiguous: host pages (<c>to</c>/<c>from</c> "host") or p2pmem of a
/// provider (<c>pci_alloc_p2pmem</c>).
/// </summary>
internal sealed class ScenarioBuffer : IDisposable
{
    public const string Host = "host";

    private readonly Machine _machine;
    private readonly HostBuffer? _host;
    private readonly P2pMemory? _p2pmem;

    private ScenarioBuffer(Machine machine, HostBuffer? host, P2pMemory? p2pmem, PciFunction? provider)
    {
        _machine = machine;
        _host = host;
        _p2pmem = p2pmem;
        Provider = provider;
        Address = host?.Address ?? p2pmem!.BusAddress;
    }

    /// <summary>The provider of p2pmem; null for host pages.</summary>
    public PciFunction? Provider { get; }

    /// <summary>The first byte's physical (host) or bus (p2pmem) address.</summary>
    public ulong Address { get; }

    /// <summary>Null when there is no such memory to take (the error says why).</summary>
    public static ScenarioBuffer? Allocate(Machine machine, string where, ulong bytes, out string? error)
    {
        error = null;
        if (where == Host)
        {
#pragma warning disable CA2000 // the buffer owns the pages
            HostBuffer? host = HostBuffer.Allocate(machine, bytes);
            error = host is null ? "-ENOMEM: no host pages" : null;
            return host is null ? null : new ScenarioBuffer(machine, host, null, null);
#pragma warning restore CA2000
        }

        PciFunction provider = machine.Fabric[where];
        P2pMemory? memory = machine.P2pDma.PciAllocP2pmem(provider, bytes);
        error = memory is null ? $"pci_alloc_p2pmem: no {bytes} bytes of p2pmem on {where}" : null;
        return memory is null ? null : new ScenarioBuffer(machine, null, memory, provider);
    }

    public void Dispose()
    {
        _host?.Dispose();
        if (_p2pmem is not null)
        {
            _machine.P2pDma.PciFreeP2pmem(Provider!, _p2pmem);
        }
    }
}
