using System;
using System.Collections.Generic;
using P2pEmu.Emulator.Devices.Net;
using P2pEmu.Emulator.Execution;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>
/// Endpoint models with working NICs: NIC entries get a <see cref="NicDevice"/> behind BAR0 (registers, doorbells and
/// the MSI-X table) and keep their on-NIC memory as BAR2; every other kind comes from the wrapped factory. After
/// <see cref="FabricBuilder.Build"/>, <see cref="Attach"/> gives each NIC its DMA port and cables the NICs that the
/// topology <c>link</c>s, each pair with its own <see cref="EthernetLink"/>.
/// </summary>
public sealed class NicModels : IEndpointModelFactory, IDisposable
{
    private readonly IEndpointModelFactory _fallback;
    private readonly DeviceModelSet<NicDevice> _devices = new("a NIC", "NIC endpoint");
    private readonly Dictionary<string, string> _linkRequests = new(StringComparer.Ordinal);
    private readonly List<NicLinkInfo> _links = new();

    /// <summary>Creates the factory over <paramref name="fallback"/> (default: <see cref="DefaultEndpointModels.Instance"/>).</summary>
    public NicModels(IEndpointModelFactory? fallback = null, ExecutionMode mode = ExecutionMode.Deterministic)
    {
        _fallback = fallback ?? DefaultEndpointModels.Instance;
        Mode = mode;
    }

    /// <summary>How the NICs this factory creates process their queues.</summary>
    public ExecutionMode Mode { get; }

    /// <summary>The NICs created so far, by device name.</summary>
    public IReadOnlyDictionary<string, NicDevice> Devices => _devices.Devices;

    /// <summary>The cables between NICs, once attached.</summary>
    public IReadOnlyList<NicLinkInfo> Links => _links;

    /// <summary>The locally administered MAC address a NIC named <paramref name="name"/> gets: 02:50:32 and a hash of the name.</summary>
    public static MacAddress MacFor(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        uint hash = 2166136261;
        foreach (char c in name)
        {
            hash = unchecked((hash ^ c) * 16777619);
        }

        return new MacAddress(0x02_50_32_00_00_00UL | (hash & 0xFF_FFFF));
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">A NIC of the same name was already described.</exception>
    public EndpointIdentity Describe(DeviceDescription device)
    {
        ArgumentNullException.ThrowIfNull(device);
        EndpointIdentity identity = _fallback.Describe(device);
        if (device.Kind != DeviceKind.Nic)
        {
            return identity;
        }

        var nic = new NicDevice(MacFor(device.Name), DeviceModelSet<NicDevice>.BarSize(identity, 2), Mode);
        _devices.Add(device.Name, nic);
        if (device.Link is not null)
        {
            _linkRequests[device.Name] = device.Link;
        }

        return DeviceModelSet<NicDevice>.WithBar0(
            identity,
            new BarSpec(0, NicDevice.Bar0SizeBytes, Is64Bit: true, Prefetchable: false, Mmio: nic.Registers),
            nic.MsiX.Describe(bar: 0));
    }

    /// <summary>Gives each NIC its DMA port (the function of the same name) and cables the linked pairs.</summary>
    /// <exception cref="InvalidOperationException">A NIC has no endpoint of its name, or is already attached.</exception>
    public void Attach(PcieFabric fabric)
    {
        _devices.Attach(fabric);
        foreach (KeyValuePair<string, string> request in _linkRequests)
        {
            NicDevice a = _devices.Devices[request.Key];
            if (a.Link is not null || !_devices.Devices.TryGetValue(request.Value, out NicDevice? b) || b.Link is not null)
            {
                continue;
            }

            var link = new EthernetLink();
            NicDevice.Connect(link, a, b);
            _links.Add(new NicLinkInfo(request.Key, request.Value, link));
        }
    }

    /// <summary>Stops every NIC's engine. Call before disposing the fabric.</summary>
    public void Stop() => _devices.Stop();

    /// <summary>Stops and forgets every NIC.</summary>
    public void Dispose() => _devices.Dispose();
}
