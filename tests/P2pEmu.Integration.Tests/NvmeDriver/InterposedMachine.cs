using System;
using System.Collections.Generic;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Drivers.Nvme;
using P2pEmu.Emulator.Devices.Nvme;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Registers;
using P2pEmu.Emulator.Topology;
using P2pEmu.Iommu.Hardware;

namespace P2pEmu.Integration.Tests.NvmeDriver;

/// <summary>
/// A machine assembled as <c>Machine</c> does, except that every NVMe controller's BAR0 sits behind an
/// <see cref="Interposer"/>: the test can make the hardware report something the model does not (a CMB without
/// RDS/WDS, a controller that never becomes ready) or lose doorbell writes. The driver still sees only MMIO.
/// </summary>
internal sealed class InterposedMachine : IDisposable
{
    private readonly NvmeModels _models = new();

    public InterposedMachine(TopologyDescription topology)
    {
        var factory = new Factory(_models, Interposers);
        Fabric = FabricBuilder.Build(topology, factory);
        _models.Attach(Fabric);
        Pages = new HostPageAllocator(Fabric);
        IReadOnlyList<IommuUnit> iommus = IommuUnit.InstallAll(Fabric, Pages);
        P2p = new P2pDmaHost(Fabric);
        Dma = new DmaApi(Fabric, P2p, iommus) { Pages = Pages };
    }

    public PcieFabric Fabric { get; }

    public HostPageAllocator Pages { get; }

    public P2pDmaHost P2p { get; }

    public DmaApi Dma { get; }

    /// <summary>The BAR0 interposer of each NVMe function, by name.</summary>
    public Dictionary<string, Interposer> Interposers { get; } = new(StringComparer.Ordinal);

    public NvmePciDriver Driver(NvmeDriverOptions? options = null) => new(Dma, options);

    public void Dispose()
    {
        Fabric.Dispose();
        _models.Dispose();
    }

    /// <summary>BAR0 of one controller, with hooks on reads and writes.</summary>
    internal sealed class Interposer : IMmioHandler
    {
        private readonly IMmioHandler _inner;

        public Interposer(IMmioHandler inner)
        {
            _inner = inner;
        }

        /// <summary>Rewrites what a read returns: (offset, value) to the value the driver sees.</summary>
        public Func<ulong, ulong, ulong>? OnRead { get; set; }

        /// <summary>Returns true for a write that must be lost.</summary>
        public Func<ulong, ulong, bool>? DropWrite { get; set; }

        public ulong Read(ulong offset, int sizeBytes)
        {
            ulong value = _inner.Read(offset, sizeBytes);
            return OnRead is null ? value : OnRead(offset, value);
        }

        public void Write(ulong offset, int sizeBytes, ulong value)
        {
            if (DropWrite?.Invoke(offset, value) != true)
            {
                _inner.Write(offset, sizeBytes, value);
            }
        }
    }

    private sealed class Factory : IEndpointModelFactory
    {
        private readonly NvmeModels _models;
        private readonly Dictionary<string, Interposer> _interposers;

        public Factory(NvmeModels models, Dictionary<string, Interposer> interposers)
        {
            _models = models;
            _interposers = interposers;
        }

        public EndpointIdentity Describe(DeviceDescription device)
        {
            EndpointIdentity identity = _models.Describe(device);
            if (device.Kind != DeviceKind.Nvme)
            {
                return identity;
            }

            var bars = new List<BarSpec>();
            foreach (BarSpec bar in identity.Bars)
            {
                if (bar.Index == 0 && bar.Mmio is not null)
                {
                    var interposer = new Interposer(bar.Mmio);
                    _interposers[device.Name] = interposer;
                    bars.Add(bar with { Mmio = interposer });
                }
                else
                {
                    bars.Add(bar);
                }
            }

            return identity with { Bars = bars };
        }
    }
}
