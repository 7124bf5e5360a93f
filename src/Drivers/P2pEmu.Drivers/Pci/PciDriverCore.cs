using System;
using System.Collections.Generic;
using System.Threading;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Drivers.Pci;

/// <summary>
/// What every PCI driver of this project does around its own probe (Linux's driver core for one
/// <c>struct pci_driver</c>): the bound devices in probe order with their instance numbers, one lock for probe and
/// remove, matching against the <c>id_table</c>, and the kernel log line of a failed probe.
/// </summary>
/// <typeparam name="TDev">The driver's per-device state.</typeparam>
internal sealed class PciDriverCore<TDev>
    where TDev : class
{
    private readonly string _name;
    private readonly Func<PciFunction, bool> _matches;
    private readonly Func<TDev, PciFunction> _functionOf;
    private readonly List<TDev> _devices = new();
    private readonly List<string> _log = new();
    private readonly Lock _lock = new();
    private int _nextInstance;

    /// <param name="name">The driver's name, as in the kernel log ("nvme").</param>
    /// <param name="matches">The driver's <c>id_table</c>.</param>
    /// <param name="functionOf">The function a device is bound to.</param>
    public PciDriverCore(string name, Func<PciFunction, bool> matches, Func<TDev, PciFunction> functionOf)
    {
        _name = name;
        _matches = matches;
        _functionOf = functionOf;
    }

    public IReadOnlyList<TDev> Devices
    {
        get
        {
            lock (_lock)
            {
                return _devices.ToArray();
            }
        }
    }

    public IReadOnlyList<string> KernelLog
    {
        get
        {
            lock (_lock)
            {
                return _log.ToArray();
            }
        }
    }

    /// <summary>Probes every matching function of <paramref name="fabric"/> not yet bound, in kernel list order; how many succeeded.</summary>
    public int ProbeAll(PcieFabric fabric, Func<PciEndpoint, int, Result<TDev>> probe)
    {
        int bound = 0;
        foreach (PciFunction function in fabric.Functions)
        {
            if (_matches(function) && Find(function) is null && Probe(function, probe).IsSuccess)
            {
                bound++;
            }
        }

        return bound;
    }

    /// <summary>Runs <paramref name="probe"/> with the next instance number: ENODEV for a function that does not match or is bound.</summary>
    public Result<TDev> Probe(PciFunction function, Func<PciEndpoint, int, Result<TDev>> probe)
    {
        ArgumentNullException.ThrowIfNull(function);
        lock (_lock)
        {
            if (!_matches(function) || FindLocked(function) is not null)
            {
                return Errno.ENODEV;
            }

            Result<TDev> result = probe((PciEndpoint)function, _nextInstance);
            if (result.IsSuccess)
            {
                _nextInstance++;
                _devices.Add(result.Value);
            }
            else
            {
                _log.Add($"{_name} {function.Address}: probe with driver {_name} failed with error -{(int)result.Error}");
            }

            return result;
        }
    }

    /// <summary>Forgets <paramref name="dev"/>; the caller tears it down (outside the lock).</summary>
    /// <exception cref="ArgumentException"><paramref name="dev"/> is not bound to this driver.</exception>
    public void Unbind(TDev dev)
    {
        ArgumentNullException.ThrowIfNull(dev);
        lock (_lock)
        {
            if (!_devices.Remove(dev))
            {
                throw new ArgumentException($"{dev} is not bound to this driver.", nameof(dev));
            }
        }
    }

    /// <summary>The device bound to <paramref name="function"/>, or null.</summary>
    public TDev? Find(PciFunction function)
    {
        lock (_lock)
        {
            return FindLocked(function);
        }
    }

    private TDev? FindLocked(PciFunction function) => _devices.Find(d => ReferenceEquals(_functionOf(d), function));
}
