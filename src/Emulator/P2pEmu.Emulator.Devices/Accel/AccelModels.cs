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
    private readonly Dictionary<string, AccelDevice> _devices = new(StringComparer.Ordinal);

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
    public IReadOnlyDictionary<string, AccelDevice> Devices => _devices;

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

        ulong memoryBytes = 0;
        foreach (BarSpec bar in identity.Bars)
        {
            if (bar.Index == 1)
            {
                memoryBytes = bar.SizeBytes;
            }
        }

        var accel = new AccelDevice(device.Name, memoryBytes, Mode);
        if (!_devices.TryAdd(device.Name, accel))
        {
            accel.Dispose();
            throw new ArgumentException($"{device.Name}: an accelerator of this name was already described.", nameof(device));
        }

        var bars = new List<BarSpec>(identity.Bars.Count);
        foreach (BarSpec bar in identity.Bars)
        {
            bars.Add(bar.Index == 0
                ? new BarSpec(0, AccelDevice.Bar0SizeBytes, Is64Bit: false, Prefetchable: false, Mmio: accel.Registers)
                : bar);
        }

        return identity with { Bars = bars, MsiX = accel.MsiX.Describe(bar: 0) };
    }

    /// <summary>Gives each accelerator its DMA port: the function of the same name in <paramref name="fabric"/>.</summary>
    /// <exception cref="InvalidOperationException">An accelerator has no endpoint of its name, or is already attached.</exception>
    public void Attach(PcieFabric fabric)
    {
        ArgumentNullException.ThrowIfNull(fabric);
        foreach (KeyValuePair<string, AccelDevice> pair in _devices)
        {
            if (!fabric.TryGetFunction(pair.Key, out PciFunction? function) || function is not PciEndpoint endpoint)
            {
                throw new InvalidOperationException($"{pair.Key}: no accelerator endpoint of this name in the fabric.");
            }

            pair.Value.Attach(fabric, endpoint);
        }
    }

    /// <summary>
    /// Stops every accelerator's engine (after the descriptor in progress), so nothing the fabric routes to is used
    /// after. Call before disposing the fabric.
    /// </summary>
    public void Stop()
    {
        foreach (AccelDevice device in _devices.Values)
        {
            device.Stop();
        }
    }

    /// <summary>Stops and disposes every accelerator. Call <see cref="Stop"/> before disposing the fabric.</summary>
    public void Dispose()
    {
        foreach (AccelDevice device in _devices.Values)
        {
            device.Dispose();
        }

        _devices.Clear();
    }
}
