using System;
using System.Collections.Generic;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Emulator.Devices.Nvme;

/// <summary>
/// Endpoint models with working NVMe controllers: NVMe entries get an <see cref="NvmeController"/> behind BAR0
/// (registers, doorbells and the MSI-X table, with the MSI-X capability in config space) and their CMB as memory BAR2; every other kind comes from the wrapped factory (by default
/// <see cref="DefaultEndpointModels"/>). After <see cref="FabricBuilder.Build"/>, call <see cref="Attach"/>
/// (or use <see cref="Build"/>) so each controller gets its DMA port.
/// </summary>
public sealed class NvmeModels : IEndpointModelFactory, IDisposable
{
    private readonly IEndpointModelFactory _fallback;
    private readonly Dictionary<string, NvmeController> _controllers = new(StringComparer.Ordinal);

    /// <summary>Creates the factory over <paramref name="fallback"/> (default: <see cref="DefaultEndpointModels.Instance"/>).</summary>
    public NvmeModels(IEndpointModelFactory? fallback = null)
    {
        _fallback = fallback ?? DefaultEndpointModels.Instance;
    }

    /// <summary>The controllers created so far, by device name.</summary>
    public IReadOnlyDictionary<string, NvmeController> Controllers => _controllers;

    /// <summary>Builds a fabric with these models and attaches every controller to it.</summary>
    public static PcieFabric Build(TopologyDescription topology, NvmeModels models)
    {
        ArgumentNullException.ThrowIfNull(models);
        PcieFabric fabric = FabricBuilder.Build(topology, models);
        models.Attach(fabric);
        return fabric;
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">An NVMe device of the same name was already described.</exception>
    public EndpointIdentity Describe(DeviceDescription device)
    {
        ArgumentNullException.ThrowIfNull(device);
        EndpointIdentity identity = _fallback.Describe(device);
        if (device.Kind != DeviceKind.Nvme)
        {
            return identity;
        }

        ulong cmbBytes = 0;
        foreach (BarSpec bar in identity.Bars)
        {
            if (bar.Index == 2)
            {
                cmbBytes = bar.SizeBytes;
            }
        }

        var controller = new NvmeController(identity.VendorId, "P2PEMU-" + device.Name, cmbBytes, device.Namespaces);
        if (!_controllers.TryAdd(device.Name, controller))
        {
            controller.Dispose();
            throw new ArgumentException($"{device.Name}: an NVMe device of this name was already described.", nameof(device));
        }

        var bars = new List<BarSpec>(identity.Bars.Count);
        foreach (BarSpec bar in identity.Bars)
        {
            bars.Add(bar.Index == 0
                ? new BarSpec(0, NvmeController.Bar0SizeBytes, Is64Bit: true, Prefetchable: false, Mmio: controller.Registers)
                : bar);
        }

        return identity with { Bars = bars, MsiX = controller.MsiX.Describe(bar: 0) };
    }

    /// <summary>Gives each controller its DMA port: the function of the same name in <paramref name="fabric"/>.</summary>
    /// <exception cref="InvalidOperationException">A controller has no endpoint of its name, or is already attached.</exception>
    public void Attach(PcieFabric fabric)
    {
        ArgumentNullException.ThrowIfNull(fabric);
        foreach (KeyValuePair<string, NvmeController> pair in _controllers)
        {
            if (!fabric.TryGetFunction(pair.Key, out PciFunction? function) || function is not PciEndpoint endpoint)
            {
                throw new InvalidOperationException($"{pair.Key}: no NVMe endpoint of this name in the fabric.");
            }

            pair.Value.Attach(fabric, endpoint);
        }
    }

    /// <summary>Disposes every controller (their namespaces' memory). Dispose the fabric first.</summary>
    public void Dispose()
    {
        foreach (NvmeController controller in _controllers.Values)
        {
            controller.Dispose();
        }

        _controllers.Clear();
    }
}
