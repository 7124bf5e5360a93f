using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using P2pEmu.Dma.Userspace;
using P2pEmu.Drivers.Vfio;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Emulator.Topology.Json;

namespace P2pEmu.Machine.Scenarios.Workload;

/// <summary>Injects a scenario's faults into its machine, in the middle of a running transfer.</summary>
internal static class FaultInjector
{
    /// <summary>How long the runner waits for a provider removal before it reports the removal as waiting.</summary>
    public static readonly TimeSpan RemoveTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Applies <paramref name="fault"/> while <paramref name="running"/> is between chunks; says what happened.</summary>
    /// <param name="pending">Removals still waiting for page references are added here.</param>
    public static FaultReport Apply(Machine machine, FaultInjection fault, ChunkedTransfer running, List<Task> pending)
    {
        string result = fault.Action switch
        {
            FaultAction.RemoveProvider => RemoveProvider(machine, fault, running, pending),
            FaultAction.RevokeDmabuf => Revoke((DmabufTransfer)running, fault),
            FaultAction.ResetDevice => Reset(machine, fault, running),
            _ => FlipAcs(machine, fault),
        };
        string action = fault.Action switch
        {
            FaultAction.RemoveProvider => "remove-provider",
            FaultAction.RevokeDmabuf => "revoke-dmabuf",
            FaultAction.ResetDevice => "reset-device",
            _ => "flip-acs",
        };
        return new FaultReport(action, fault.Device, fault.Transfer, fault.AfterChunk, result);
    }

    /// <summary>
    /// The provider's driver unbinds (<c>nvme_remove</c>, the RDMA driver's remove; for another provider its P2PDMA
    /// teardown alone), on a thread of its own: Linux's <c>pci_p2pdma_release</c> waits for every page of the pool, so
    /// while the transfer holds kernel p2pmem the removal cannot finish. After <see cref="RemoveTimeout"/> the report
    /// says so and the removal goes on waiting; the runner waits for it once the transfer has freed its memory.
    /// </summary>
    private static string RemoveProvider(Machine machine, FaultInjection fault, ChunkedTransfer running, List<Task> pending)
    {
        PciFunction provider = machine.Fabric[fault.Device];
        Action remove = machine.NvmeDriver.Find(provider) is { } nvme ? () => machine.NvmeDriver.Remove(nvme)
            : machine.RdmaDriver.Devices.FirstOrDefault(d => ReferenceEquals(d.Pdev, provider)) is { } rdma ? () => machine.RdmaDriver.Remove(rdma)
            : () => machine.P2pDma.RemoveProvider(provider);
        Task removal = Task.Factory.StartNew(remove, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        if (!removal.Wait(RemoveTimeout))
        {
            pending.Add(removal);
            return $"still waiting after {RemoveTimeout.TotalSeconds:0} s: pci_p2pdma_release waits for the p2pmem the transfer holds (Linux blocks the unbind until it is freed)";
        }

        if (running.Spec.To == fault.Device || running.Spec.From == fault.Device)
        {
            running.MustFailFrom = fault.AfterChunk + 1;
        }

        return "removed: user mappings zapped, the pool gone, memory decoding off";
    }

    private static string Revoke(DmabufTransfer transfer, FaultInjection fault)
    {
        Errno closed = transfer.Revoke();
        if (closed == Errno.None)
        {
            transfer.MustFailFrom = fault.AfterChunk + 1;
        }

        return closed == Errno.None ? "vfio device closed: its dma-bufs revoked" : $"-{closed}";
    }

    private static string Reset(Machine machine, FaultInjection fault, ChunkedTransfer running)
    {
        if (running is DmabufTransfer dmabuf && running.Spec.To == fault.Device)
        {
            Errno reset = dmabuf.Reset();
            return reset == Errno.None ? "VFIO_DEVICE_RESET: dma-bufs revoked for the reset, then restored" : $"-{reset}";
        }

        VfioPciCoreDevice vdev = machine.Vfio.Devices.First(v => v.Pdev.Name == fault.Device);
        var process = new Process("p2pemu-reset");
        try
        {
            Result<int> fd = vdev.Open(process);
            Errno reset = fd.IsSuccess ? vdev.IoctlReset(process, fd.Value) : fd.Error;
            return reset == Errno.None ? "VFIO_DEVICE_RESET: done" : $"-{reset}";
        }
        finally
        {
            process.Exit();
        }
    }

    private static string FlipAcs(Machine machine, FaultInjection fault)
    {
        PciFunction port = machine.Fabric[fault.Device];
        AcsFlags before = port.AcsControl;
        AcsFlags after = before ^ fault.Bits;
        port.Config.Write16(port.AcsCapabilityOffset + AcsConfig.Control, (ushort)after);
        return $"ACS control {AcsText.Describe(before)} -> {AcsText.Describe(port.AcsControl)}; the kernel's cached map types are not recomputed";
    }
}
