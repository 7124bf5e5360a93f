using System;
using System.Collections.Generic;
using System.Threading;
using P2pEmu.Emulator.Memory;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Emulator.Fabric;

/// <summary>
/// The PCIe fabric of one machine: host bridges with their hierarchies, host RAM, and the router that
/// carries every device-initiated memory transaction. Built by <see cref="FabricBuilder"/>.
/// </summary>
/// <remarks>
/// Host RAM occupies bus addresses [0, min(RAM, 2 GiB)) and, beyond that, [4 GiB, 4 GiB + rest), as on a
/// PC; BAR space lies in the host bridges' windows above it, so no RAM address is ever a BAR address.
/// </remarks>
public sealed partial class PcieFabric : IDisposable
{
    /// <summary>RAM below the 32-bit MMIO hole.</summary>
    public const ulong LowRamLimit = 2UL << 30;

    /// <summary>Where RAM beyond <see cref="LowRamLimit"/> continues.</summary>
    public const ulong HighRamBase = 4UL << 30;

    private readonly List<HostBridge> _hostBridges;
    private readonly List<PciFunction> _functions;
    private readonly Dictionary<string, PciFunction> _byName;
    private readonly HostMemory _ram;
    // Two counters per path: bytes moved without and with a memmove into or out of plain memory. One slot per
    // transfer keeps a DMA to one interlocked add; BytesCopied is the sum of the second slots.
    private readonly long[] _bytesByPath = new long[Enum.GetValues<RoutePath>().Length * 2];
    private readonly long[] _failuresByStatus = new long[Enum.GetValues<RouteStatus>().Length];
    private int _disposed;

    internal PcieFabric(TopologyDescription topology, List<HostBridge> hostBridges, List<PciFunction> functions, HostMemory ram)
    {
        Topology = topology;
        _hostBridges = hostBridges;
        _functions = functions;
        _ram = ram;
        _byName = new Dictionary<string, PciFunction>(StringComparer.Ordinal);
        foreach (PciFunction function in functions)
        {
            _byName.Add(function.Name, function);
        }
    }

    /// <summary>The description the fabric was built from.</summary>
    public TopologyDescription Topology { get; }

    public PlatformDescription Platform => Topology.Platform;

    public IReadOnlyList<HostBridge> HostBridges => _hostBridges;

    /// <summary>Every function (bridges, endpoints, VFs) in kernel list order: host bridge by host bridge, depth first.</summary>
    public IReadOnlyList<PciFunction> Functions => _functions;

    public HostMemory Ram => _ram;

    /// <summary>Total bytes moved by memmove between a source and a target (one per byte on a 1-copy path).</summary>
    public long BytesCopied
    {
        get
        {
            long sum = 0;
            for (int slot = 1; slot < _bytesByPath.Length; slot += 2)
            {
                sum += Volatile.Read(ref _bytesByPath[slot]);
            }

            return sum;
        }
    }

    /// <summary>Looks a function up by its topology name.</summary>
    /// <exception cref="KeyNotFoundException">No function has that name.</exception>
    public PciFunction this[string name] =>
        _byName.TryGetValue(name, out PciFunction? f) ? f : throw new KeyNotFoundException($"No function named '{name}' in the topology.");

    public bool TryGetFunction(string name, out PciFunction? function) => _byName.TryGetValue(name, out function);

    /// <summary>Bytes carried by delivered transactions on <paramref name="path"/> (reads and writes each count).</summary>
    public long BytesOnPath(RoutePath path) => Volatile.Read(ref _bytesByPath[(int)path * 2]) + Volatile.Read(ref _bytesByPath[((int)path * 2) + 1]);

    /// <summary>
    /// Device transactions that failed with <paramref name="status"/> (the error a requester's DMA engine records:
    /// an Unsupported Request or ACS Violation completion, an IOMMU fault, a request blocked by Bus Master Enable).
    /// </summary>
    public long FailedTransactions(RouteStatus status) => Volatile.Read(ref _failuresByStatus[(int)status]);

    /// <summary>Translates a host RAM bus address into an offset of <see cref="Ram"/>'s region.</summary>
    public bool TryFindRam(ulong busAddress, out ulong offset, out ulong remainingBytes)
    {
        ulong size = _ram.SizeBytes;
        ulong low = Math.Min(size, LowRamLimit);
        if (busAddress < low)
        {
            offset = busAddress;
            remainingBytes = low - busAddress;
            return true;
        }

        if (size > LowRamLimit && busAddress >= HighRamBase && busAddress - HighRamBase < size - LowRamLimit)
        {
            offset = LowRamLimit + (busAddress - HighRamBase);
            remainingBytes = size - offset;
            return true;
        }

        offset = 0;
        remainingBytes = 0;
        return false;
    }

    /// <summary>The bus address of an offset into host RAM.</summary>
    public ulong RamBusAddress(ulong offset)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(offset, _ram.SizeBytes);
        return offset < LowRamLimit ? offset : HighRamBase + (offset - LowRamLimit);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (PciFunction function in _functions)
        {
            (function as PciEndpoint)?.Dispose();
        }

        _ram.Dispose();
    }

    internal void CountFailure(RouteStatus status) => Interlocked.Increment(ref _failuresByStatus[(int)status]);

    internal void CountTransfer(RoutePath readPath, RoutePath writePath, ulong bytes, bool copied)
    {
        long n = (long)bytes;
        int copy = copied ? 1 : 0;

        // The copy is counted once, on the write side when there is one.
        if (writePath != RoutePath.None)
        {
            Interlocked.Add(ref _bytesByPath[((int)writePath * 2) + copy], n);
            copy = 0;
        }

        if (readPath != RoutePath.None)
        {
            Interlocked.Add(ref _bytesByPath[((int)readPath * 2) + copy], n);
        }
    }
}
