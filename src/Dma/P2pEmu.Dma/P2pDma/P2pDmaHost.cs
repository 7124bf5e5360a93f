using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Dma.P2pDma;

/// <summary>
/// The kernel's PCI P2PDMA subsystem for one machine (drivers/pci/p2pdma.c): map type and distance, the
/// host-bridge allow list, the per-provider map-type cache, providers and the p2pmem pool. Method names
/// are Linux's in PascalCase; errors are Linux errno values.
/// </summary>
/// <remarks>
/// Thread safety: lookups (<see cref="PciP2pdmaMapTypeOf"/>, <see cref="GetP2pdma"/>) are lock-free, as
/// the kernel's are under RCU; state changes (init, resources, publish) serialize on one lock.
/// </remarks>
public sealed partial class P2pDmaHost
{
    private readonly ConcurrentDictionary<PciFunction, PciP2pdma> _p2pdma = new();
    private readonly Random _random;
    private readonly Lock _lock = new();
    private readonly List<string> _log = new();

    public P2pDmaHost(PcieFabric fabric, P2pDmaOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(fabric);
        Fabric = fabric;
        options ??= new P2pDmaOptions();
        AllowList = options.AllowList ?? HostBridgeAllowList.For(fabric.Platform.Kernel);
        _random = options.RandomSeed is int seed ? new Random(seed) : new Random();
    }

    public PcieFabric Fabric { get; }

    /// <summary>The host-bridge allow list in force (<c>pci_p2pdma_whitelist</c>).</summary>
    public IReadOnlyList<HostBridgeAllowListEntry> AllowList { get; }

    /// <summary>Linux <c>cpu_supports_p2pdma()</c>: an AMD CPU of family 0x17 (Zen) or newer; Hygon and Intel do not count.</summary>
    public bool CpuSupportsP2pdma => Fabric.Platform.CpuVendor == CpuVendor.Amd && Fabric.Platform.CpuFamily >= 0x17;

    /// <summary>What the subsystem printed (<c>pci_warn</c>/<c>dev_warn</c> lines, as dmesg shows them).</summary>
    public IReadOnlyList<string> KernelLog
    {
        get
        {
            lock (_log)
            {
                return _log.ToArray();
            }
        }
    }

    /// <summary><c>pdev-&gt;p2pdma</c>: the device's P2PDMA state, or null before <c>pcim_p2pdma_init</c>.</summary>
    public PciP2pdma? GetP2pdma(PciFunction pdev)
    {
        ArgumentNullException.ThrowIfNull(pdev);
        return _p2pdma.TryGetValue(pdev, out PciP2pdma? state) ? state : null;
    }

    private void Warn(PciFunction device, string message) => LogLine($"pci {device.Address}: {message}");

    /// <summary>Appends one line to <see cref="KernelLog"/>.</summary>
    private void LogLine(string line)
    {
        lock (_log)
        {
            _log.Add(line);
        }
    }
}
