using System;
using System.Collections.Generic;
using P2pEmu.Emulator.Execution;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Emulator.Devices.Accel;

/// <summary>
/// Endpoint models with working accelerators: accelerator entries get an <see cref="AccelDevice"/> behind BAR0
/// (registers, copy engine and the MSI-X table, with the MSI-X capability in config space) and keep their device memory
/// as BAR1 (the wrapped factory's size: the topology's <c>memory</c>, default 256 MiB); every other kind comes from the
/// wrapped factory (by default <see cref="DefaultEndpointModels"/>). Factories chain: wrap this one in another
/// (<c>new NvmeModels(fallback: accelModels)</c>) to have both. After <see cref="FabricBuilder.Build"/>, call
/// <see cref="Attach"/> (or use <see cref="Build"/>) so each device gets its DMA port.
/// </summary>
public sealed class AccelModels : IEndpointModelFactory, IDisposable
{
    private readonly IEndpointModelFactory _fallback;
    private readonly DeviceModelSet<AccelDevice> _devices = new("an accelerator", "accelerator endpoint");

    /// <summary>Creates the factory over <paramref name="fallback"/> (default: <see cref="DefaultEndpointModels.Instance"/>).</summary>
    /// <param name="fallback">Models for every kind but the accelerator, and the accelerator's IDs and BAR1.</param>
    /// <param name="mode">How the devices process their rings (see <see cref="AccelDevice.Mode"/>).</param>
    public AccelModels(IEndpointModelFactory? fallback = null, ExecutionMode mode = ExecutionMode.Deterministic)
    {
        _fallback = fallback ?? DefaultEndpointModels.Instance;
        Mode = mode;
    }

    /// <summary>How the devices this factory creates process their rings.</summary>
    public ExecutionMode Mode { get; }

    /// <summary>The accelerators created so far, by device name.</summary>
    public IReadOnlyDictionary<string, AccelDevice> Devices => _devices.Devices;

    /// <summary>Builds a fabric with these models and attaches every accelerator to it.</summary>
    public static PcieFabric Build(TopologyDescription topology, AccelModels models)
    {
        ArgumentNullException.ThrowIfNull(models);
        PcieFabric fabric = FabricBuilder.Build(topology, models);
        models.Attach(fabric);
        return fabric;
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">An accelerator of the same name was already described.</exception>
    public EndpointIdentity Describe(DeviceDescription device)
    {
        ArgumentNullException.ThrowIfNull(device);
        EndpointIdentity identity = _fallback.Describe(device);
        if (device.Kind != DeviceKind.Accelerator)
        {
            return identity;
        }

        var accel = new AccelDevice(device.Name, DeviceModelSet<AccelDevice>.BarSize(identity, 1), Mode);
        _devices.Add(device.Name, accel);
        return DeviceModelSet<AccelDevice>.WithBar0(
            identity,
            new BarSpec(0, AccelDevice.Bar0SizeBytes, Is64Bit: false, Prefetchable: false, Mmio: accel.Registers),
            accel.MsiX.Describe(bar: 0));
    }

    /// <summary>Gives each accelerator its DMA port: the function of the same name in <paramref name="fabric"/>.</summary>
    /// <exception cref="InvalidOperationException">An accelerator has no endpoint of its name, or is already attached.</exception>
    public void Attach(PcieFabric fabric) => _devices.Attach(fabric);

    /// <summary>
    /// Stops every accelerator's engine (after the descriptor in progress), so nothing the fabric routes to is used
    /// after. Call before disposing the fabric.
    /// </summary>
    public void Stop() => _devices.Stop();

    /// <summary>Stops and disposes every accelerator. Call <see cref="Stop"/> before disposing the fabric.</summary>
    public void Dispose() => _devices.Dispose();
}
