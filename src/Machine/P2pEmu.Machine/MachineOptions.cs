using P2pEmu.Drivers.Nvme;
using P2pEmu.Emulator.Execution;

namespace P2pEmu.Machine;

/// <summary>How <see cref="Machine.Build(Emulator.Topology.TopologyDescription, MachineOptions)"/> assembles a machine.</summary>
public sealed record MachineOptions
{
    /// <summary>
    /// How devices run their work (DESIGN "Execution model"): <see cref="ExecutionMode.Deterministic"/> (the default)
    /// does it inline inside the doorbell write; <see cref="ExecutionMode.Concurrent"/> gives every NVMe controller
    /// and accelerator a thread of its own that the doorbell only wakes.
    /// </summary>
    public ExecutionMode ExecutionMode { get; init; } = ExecutionMode.Deterministic;

    /// <summary>
    /// Bind the NVMe driver to every NVMe function and vfio-pci to every accelerator function (false: none, for code that
    /// drives a device itself or probes by hand).
    /// </summary>
    public bool BindDrivers { get; init; } = true;

    /// <summary>The NVMe driver's module parameters (null: the defaults).</summary>
    public NvmeDriverOptions? Nvme { get; init; }
}
