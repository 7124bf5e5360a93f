using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Drivers.Nvme;
using P2pEmu.Drivers.Rdma;
using P2pEmu.Drivers.Vfio;
using P2pEmu.Emulator.Devices.Accel;
using P2pEmu.Emulator.Devices.Net;
using P2pEmu.Emulator.Devices.Nic;
using P2pEmu.Emulator.Devices.Nvme;
using P2pEmu.Emulator.Execution;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Iommu.Hardware;
using P2pEmu.Machine.Diagnostics;

namespace P2pEmu.Machine;

/// <summary>
/// A running emulated machine built from a topology: the enumerated PCIe fabric with host RAM and every
/// device (NVMe controllers, accelerators and NICs behind their BAR0, NICs cabled as the topology links them), an IOMMU on each host bridge whose mode is not off, and the host software
/// (P2PDMA, the DMA API, the NVMe driver with a disk per namespace, dma-buf, the RDMA driver on every NIC, and vfio-pci bound to every accelerator). The single
/// composition root that the CLI, the tests and the benchmarks use.
/// </summary>
public sealed class Machine : IDisposable
{
    private readonly NvmeModels _nvme;
    private readonly AccelModels _accel;
    private readonly NicModels _nic;
    private int _disposed;

    private Machine(PcieFabric fabric, NvmeModels nvme, AccelModels accel, NicModels nic, MachineOptions options)
    {
        Fabric = fabric;
        _nvme = nvme;
        _accel = accel;
        _nic = nic;
        ExecutionMode = options.ExecutionMode;
        Pages = new HostPageAllocator(fabric);
        Iommus = IommuUnit.InstallAll(fabric, Pages);
        P2pDma = new P2pDmaHost(fabric);
        // Deviation from Linux in deterministic mode: the flush queues have no timer (they flush when full), so a
        // run does not depend on wall-clock time.
        TimeSpan? flushQueueTimeout = options.ExecutionMode == ExecutionMode.Deterministic ? Timeout.InfiniteTimeSpan : null;
        Dma = new DmaApi(fabric, P2pDma, Iommus, fabric.Platform.IommuStrict, flushQueueTimeout) { Pages = Pages };
        DmaBuf = new DmaBufHost(Dma);
        NvmeDriver = new NvmePciDriver(Dma, options.Nvme);
        Vfio = new VfioPciDriver(DmaBuf);
        RdmaDriver = new RdmaPciDriver(Dma, DmaBuf);
        if (options.BindDrivers)
        {
            NvmeDriver.ProbeAll();
            RdmaDriver.ProbeAll();
            BindAcceleratorsToVfio();
        }

        MachineMetrics.Register(this);
    }

    public PcieFabric Fabric { get; }

    /// <summary>How the devices run their work (see <see cref="MachineOptions.ExecutionMode"/>).</summary>
    public ExecutionMode ExecutionMode { get; }

    public TopologyDescription Topology => Fabric.Topology;

    /// <summary>The kernel's page allocator over host RAM (IOMMU page tables, DMA buffers).</summary>
    public HostPageAllocator Pages { get; }

    /// <summary>The IOMMUs of the host bridges whose <c>iommu</c> is passthrough or translate.</summary>
    public IReadOnlyList<IommuUnit> Iommus { get; }

    /// <summary>The kernel's P2PDMA subsystem on this machine.</summary>
    public P2pDmaHost P2pDma { get; }

    /// <summary>The kernel's DMA mapping API on this machine.</summary>
    public DmaApi Dma { get; }

    /// <summary>The kernel's dma-buf framework on this machine, following the topology's kernel profile.</summary>
    public DmaBufHost DmaBuf { get; }

    /// <summary>The NVMe controller models, by topology name (what a driver reaches through BAR0).</summary>
    public IReadOnlyDictionary<string, NvmeController> NvmeControllers => _nvme.Controllers;

    /// <summary>The accelerator models, by topology name (what a driver reaches through BAR0; device memory is BAR1).</summary>
    public IReadOnlyDictionary<string, AccelDevice> Accelerators => _accel.Devices;

    /// <summary>
    /// The vfio-pci driver (exporting BAR ranges as dma-bufs through <see cref="DmaBuf"/>); every accelerator function is
    /// bound to it unless the machine was built without drivers, as a GPU passed to a VM or a user-space driver is.
    /// </summary>
    public VfioPciDriver Vfio { get; }

    /// <summary>The NIC models, by topology name (registers, RDMA engine, Ethernet rings).</summary>
    public IReadOnlyDictionary<string, NicDevice> Nics => _nic.Devices;

    /// <summary>The Ethernet cables between this machine's NICs (topology <c>link</c>).</summary>
    public IReadOnlyList<NicLinkInfo> NicLinks => _nic.Links;

    /// <summary>The RDMA NIC driver; it is bound to every NIC unless the machine was built without drivers.</summary>
    public RdmaPciDriver RdmaDriver { get; }

    /// <summary>The bound RDMA devices (driver side), by topology name.</summary>
    public IReadOnlyDictionary<string, RdmaDev> RdmaDevices => RdmaDriver.Devices.ToDictionary(d => d.Pdev.Name, StringComparer.Ordinal);

    /// <summary>
    /// Cables NIC <paramref name="nicA"/> of machine <paramref name="a"/> to NIC <paramref name="nicB"/> of machine
    /// <paramref name="b"/> (two machines in one process; the same machine works too) and returns the link.
    /// </summary>
    /// <exception cref="ArgumentException">A name is not a NIC of its machine.</exception>
    /// <exception cref="InvalidOperationException">A NIC is already cabled.</exception>
    public static EthernetLink ConnectNics(Machine a, string nicA, Machine b, string nicB)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        NicDevice first = a.Nics.TryGetValue(nicA, out NicDevice? x) ? x : throw new ArgumentException($"{nicA} is not a NIC of the first machine.", nameof(nicA));
        NicDevice second = b.Nics.TryGetValue(nicB, out NicDevice? y) ? y : throw new ArgumentException($"{nicB} is not a NIC of the second machine.", nameof(nicB));
        var link = new EthernetLink();
        NicDevice.Connect(link, first, second);
        return link;
    }

    /// <summary>The NVMe host driver; it is bound to every NVMe function (class 01 08 02) unless the machine was built without drivers.</summary>
    public NvmePciDriver NvmeDriver { get; }

    /// <summary>The bound NVMe controllers (driver side), by topology name.</summary>
    public IReadOnlyDictionary<string, NvmeDev> NvmeDrivers => NvmeDriver.Devices.ToDictionary(d => d.Pdev.Name, StringComparer.Ordinal);

    /// <summary>The disks of the bound NVMe controllers, by disk name ("nvme0n1", …).</summary>
    public IReadOnlyDictionary<string, BlockDevice> BlockDevices =>
        NvmeDriver.Devices.SelectMany(d => d.Namespaces).ToDictionary(ns => ns.Disk.Name, ns => ns.Disk, StringComparer.Ordinal);

    /// <summary>
    /// Builds a machine; a bad topology throws <see cref="TopologyException"/> and leaves nothing behind. With
    /// <paramref name="bindDrivers"/> false no driver is bound (for tests that drive a device directly, or probe by hand).
    /// </summary>
    public static Machine Build(TopologyDescription topology, bool bindDrivers = true) =>
        Build(topology, new MachineOptions { BindDrivers = bindDrivers });

    /// <summary>Builds a machine with <paramref name="options"/> (execution mode, driver binding and parameters); see <see cref="Build(TopologyDescription, bool)"/>.</summary>
    public static Machine Build(TopologyDescription topology, MachineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var accel = new AccelModels(mode: options.ExecutionMode);
        var nic = new NicModels(fallback: accel, mode: options.ExecutionMode);
        var nvme = new NvmeModels(fallback: nic, mode: options.ExecutionMode);
        PcieFabric? fabric = null;
        try
        {
            fabric = FabricBuilder.Build(topology, nvme);
            nvme.Attach(fabric);
            accel.Attach(fabric);
            nic.Attach(fabric);
            return new Machine(fabric, nvme, accel, nic, options);
        }
        catch
        {
            nvme.Stop();
            accel.Stop();
            nic.Stop();
            fabric?.Dispose();
            nvme.Dispose();
            accel.Dispose();
            nic.Dispose();
            throw;
        }
    }

    /// <summary>Builds a machine from a built-in topology name, a topology file or an lspci dump.</summary>
    public static Machine Load(string nameOrPath, bool bindDrivers = true) => Build(TopologySource.Load(nameOrPath), bindDrivers);

    /// <summary>Builds a machine from a built-in topology name, a topology file or an lspci dump, with <paramref name="options"/>.</summary>
    public static Machine Load(string nameOrPath, MachineOptions options) => Build(TopologySource.Load(nameOrPath), options);

    /// <summary>True once <see cref="Dispose"/> ran.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Stops the devices' engines (NVMe and accelerators), disposes the fabric, then the device models that own namespace memory.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        MachineMetrics.Unregister(this);
        _nvme.Stop();
        _accel.Stop();
        _nic.Stop();
        Fabric.Dispose();
        _nvme.Dispose();
        _accel.Dispose();
        _nic.Dispose();
    }

    /// <summary>Binds vfio-pci to every accelerator function (probe order: topology order).</summary>
    /// <exception cref="InvalidOperationException">vfio-pci refused a function (its probe failed).</exception>
    private void BindAcceleratorsToVfio()
    {
        foreach (string name in _accel.Devices.Keys)
        {
            var pdev = (PciEndpoint)Fabric[name];
            Result<VfioPciCoreDevice> bound = Vfio.Bind(pdev);
            if (!bound.IsSuccess)
            {
                throw new InvalidOperationException($"{name}: vfio-pci probe failed with {bound.Error}.");
            }
        }
    }
}
