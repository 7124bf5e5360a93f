using System;
using System.Collections.Generic;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Emulator.Devices;

/// <summary>
/// The devices one model factory created, by topology name, and what every factory does with them: attach them to the
/// built fabric, stop them before the fabric goes, dispose them after.
/// </summary>
/// <typeparam name="TDevice">The device model.</typeparam>
internal sealed class DeviceModelSet<TDevice>
    where TDevice : class, IAttachableDevice
{
    private readonly Dictionary<string, TDevice> _devices = new(StringComparer.Ordinal);
    private readonly string _deviceText;
    private readonly string _endpointText;

    /// <param name="deviceText">The device in messages, with its article: "an NVMe device".</param>
    /// <param name="endpointText">Its function in messages: "NVMe endpoint".</param>
    public DeviceModelSet(string deviceText, string endpointText)
    {
        _deviceText = deviceText;
        _endpointText = endpointText;
    }

    public IReadOnlyDictionary<string, TDevice> Devices => _devices;

    /// <summary>Adds a device just created for <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">A device of that name exists (the new one is disposed).</exception>
    public void Add(string name, TDevice device)
    {
        if (!_devices.TryAdd(name, device))
        {
            device.Dispose();
            throw new ArgumentException($"{name}: {_deviceText} of this name was already described.", nameof(device));
        }
    }

    /// <summary>Attaches each device to the function of its name in <paramref name="fabric"/>.</summary>
    /// <exception cref="InvalidOperationException">A device has no endpoint of its name, or is already attached.</exception>
    public void Attach(PcieFabric fabric)
    {
        ArgumentNullException.ThrowIfNull(fabric);
        foreach (KeyValuePair<string, TDevice> pair in _devices)
        {
            if (!fabric.TryGetFunction(pair.Key, out PciFunction? function) || function is not PciEndpoint endpoint)
            {
                throw new InvalidOperationException($"{pair.Key}: no {_endpointText} of this name in the fabric.");
            }

            pair.Value.Attach(fabric, endpoint);
        }
    }

    public void Stop()
    {
        foreach (TDevice device in _devices.Values)
        {
            device.Stop();
        }
    }

    public void Dispose()
    {
        foreach (TDevice device in _devices.Values)
        {
            device.Dispose();
        }

        _devices.Clear();
    }

    /// <summary>The size of BAR <paramref name="index"/> in <paramref name="identity"/>, 0 when it has none.</summary>
    public static ulong BarSize(EndpointIdentity identity, int index)
    {
        ulong size = 0;
        foreach (BarSpec bar in identity.Bars)
        {
            if (bar.Index == index)
            {
                size = bar.SizeBytes;
            }
        }

        return size;
    }

    /// <summary><paramref name="identity"/> with BAR0 replaced by <paramref name="bar0"/> and the MSI-X capability <paramref name="msix"/>.</summary>
    public static EndpointIdentity WithBar0(EndpointIdentity identity, BarSpec bar0, MsiXSpec msix)
    {
        var bars = new List<BarSpec>(identity.Bars.Count);
        foreach (BarSpec bar in identity.Bars)
        {
            bars.Add(bar.Index == 0 ? bar0 : bar);
        }

        return identity with { Bars = bars, MsiX = msix };
    }
}
