using System;
using System.Collections.Generic;
using P2pEmu.Emulator.Execution;
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
    private readonly DeviceModelSet<NvmeController> _controllers = new("an NVMe device", "NVMe endpoint");

    /// <summary>Creates the factory over <paramref name="fallback"/> (default: <see cref="DefaultEndpointModels.Instance"/>).</summary>
    /// <param name="fallback">Models for every kind but NVMe.</param>
    /// <param name="mode">How the controllers process their queues (see <see cref="NvmeController.Mode"/>).</param>
    public NvmeModels(IEndpointModelFactory? fallback = null, ExecutionMode mode = ExecutionMode.Deterministic)
    {
        _fallback = fallback ?? DefaultEndpointModels.Instance;
        Mode = mode;
    }

    /// <summary>How the controllers this factory creates process their queues.</summary>
    public ExecutionMode Mode { get; }

    /// <summary>The controllers created so far, by device name.</summary>
    public IReadOnlyDictionary<string, NvmeController> Controllers => _controllers.Devices;

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

        ulong cmbBytes = DeviceModelSet<NvmeController>.BarSize(identity, 2);
        var controller = new NvmeController(identity.VendorId, "P2PEMU-" + device.Name, cmbBytes, device.Namespaces, Mode);
        _controllers.Add(device.Name, controller);
        return DeviceModelSet<NvmeController>.WithBar0(
            identity,
            new BarSpec(0, NvmeController.Bar0SizeBytes, Is64Bit: true, Prefetchable: false, Mmio: controller.Registers),
            controller.MsiX.Describe(bar: 0));
    }

    /// <summary>Gives each controller its DMA port: the function of the same name in <paramref name="fabric"/>.</summary>
    /// <exception cref="InvalidOperationException">A controller has no endpoint of its name, or is already attached.</exception>
    public void Attach(PcieFabric fabric) => _controllers.Attach(fabric);

    /// <summary>
    /// Stops every controller's engine (after the command in progress), so nothing the fabric routes to is used after.
    /// Call before disposing the fabric; <see cref="Dispose"/> then frees the namespaces.
    /// </summary>
    public void Stop() => _controllers.Stop();

    /// <summary>Stops and disposes every controller (their namespaces' memory). Call <see cref="Stop"/> before disposing the fabric.</summary>
    public void Dispose() => _controllers.Dispose();
}
