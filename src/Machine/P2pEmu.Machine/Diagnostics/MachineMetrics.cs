using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Threading;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Iommu.Hardware;

namespace P2pEmu.Machine.Diagnostics;

/// <summary>
/// The <c>P2pEmu</c> meter (System.Diagnostics.Metrics), visible in <c>dotnet-counters</c> and in
/// <c>dotnet-trace</c> with counters enabled: bytes carried per fabric path, bytes copied, IOTLB hits and
/// misses, IOMMU faults, NVMe I/O completions (their rate is the IOPS), RDMA work completions, and the live dma-bufs
/// and attachments, summed over the live machines of the process. The instruments are observable: they
/// read the emulator's own counters only when a listener polls, so they cost nothing on the DMA path.
/// </summary>
public static class MachineMetrics
{
    public const string MeterName = "P2pEmu";

    private static readonly Lock s_lock = new();
    private static readonly List<WeakReference<Machine>> s_machines = new();
    private static readonly Meter s_meter = CreateMeter();

    /// <summary>The meter (created on first use).</summary>
    public static Meter Meter => s_meter;

    internal static void Register(Machine machine)
    {
        _ = s_meter;
        lock (s_lock)
        {
            s_machines.RemoveAll(w => !w.TryGetTarget(out _));
            s_machines.Add(new WeakReference<Machine>(machine));
        }
    }

    internal static void Unregister(Machine machine)
    {
        lock (s_lock)
        {
            s_machines.RemoveAll(w => !w.TryGetTarget(out Machine? m) || ReferenceEquals(m, machine));
        }
    }

    private static Meter CreateMeter()
    {
        var meter = new Meter(MeterName);
        meter.CreateObservableCounter("p2pemu.fabric.bytes", ObserveBytesByPath, "By", "Bytes carried by delivered DMA transactions, by path");
        meter.CreateObservableCounter("p2pemu.fabric.bytes_copied", () => Sum(m => m.Fabric.BytesCopied), "By", "Bytes moved by memmove between a source and a target");
        meter.CreateObservableCounter("p2pemu.iommu.iotlb.hits", () => SumIommus(u => u.IoTlb.Hits), "{lookup}", "IOTLB hits");
        meter.CreateObservableCounter("p2pemu.iommu.iotlb.misses", () => SumIommus(u => u.IoTlb.Misses), "{lookup}", "IOTLB misses (page-table walks)");
        meter.CreateObservableCounter("p2pemu.iommu.pagewalk_cache.hits", () => SumIommus(u => u.IoTlb.TableHits), "{walk}", "IOTLB misses whose walk began at a leaf table the paging-structure cache held (one entry read)");
        meter.CreateObservableCounter("p2pemu.iommu.faults", () => SumIommus(u => u.Faults.TotalCount), "{fault}", "IOMMU translation faults");
        meter.CreateObservableCounter("p2pemu.nvme.completions", () => Sum(SumNvme), "{command}", "NVMe I/O commands completed (its rate is the IOPS)");
        meter.CreateObservableCounter("p2pemu.rdma.completions", () => Sum(SumRdma), "{completion}", "RDMA work completions polled");
        meter.CreateObservableUpDownCounter("p2pemu.dmabuf.buffers", () => Sum(m => m.DmaBuf.LiveBuffers), "{buffer}", "dma-bufs exported and not yet released");
        meter.CreateObservableUpDownCounter("p2pemu.dmabuf.attachments", () => Sum(m => m.DmaBuf.LiveAttachments), "{attachment}", "Attachments of the live dma-bufs");
        return meter;
    }

    private static IEnumerable<Measurement<long>> ObserveBytesByPath()
    {
        foreach (RoutePath path in Enum.GetValues<RoutePath>())
        {
            if (path != RoutePath.None)
            {
                yield return new Measurement<long>(Sum(m => m.Fabric.BytesOnPath(path)), new KeyValuePair<string, object?>("path", path.ToString()));
            }
        }
    }

    private static long SumNvme(Machine machine)
    {
        long total = 0;
        foreach (Drivers.Nvme.NvmeDev dev in machine.NvmeDriver.Devices)
        {
            total += dev.CompletedIo;
        }

        return total;
    }

    private static long SumRdma(Machine machine)
    {
        long total = 0;
        foreach (Drivers.Rdma.RdmaDev dev in machine.RdmaDriver.Devices)
        {
            total += dev.CompletionsPolled;
        }

        return total;
    }

    private static long SumIommus(Func<IommuUnit, long> read) => Sum(m =>
    {
        long total = 0;
        foreach (IommuUnit unit in m.Iommus)
        {
            total += read(unit);
        }

        return total;
    });

    private static long Sum(Func<Machine, long> read)
    {
        long total = 0;
        lock (s_lock)
        {
            foreach (WeakReference<Machine> reference in s_machines)
            {
                if (reference.TryGetTarget(out Machine? machine) && !machine.IsDisposed)
                {
                    total += read(machine);
                }
            }
        }

        return total;
    }
}
