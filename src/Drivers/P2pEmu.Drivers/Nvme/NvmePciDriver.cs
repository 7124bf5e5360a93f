using System;
using System.Collections.Generic;
using P2pEmu.Dma.Mapping;
using P2pEmu.Drivers.Pci;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Drivers.Nvme;

/// <summary>
/// The NVMe PCI driver (Linux <c>struct pci_driver nvme_driver</c>): matches functions of class
/// <c>PCI_CLASS_STORAGE_EXPRESS</c> (01 08 02), probes them into <see cref="NvmeDev"/>s numbered in probe order
/// (<c>nvme0</c>, <c>nvme1</c>, …) and removes them.
/// </summary>
/// <remarks>Thread safety: probe and remove serialize on one lock.</remarks>
public sealed class NvmePciDriver
{
    /// <summary><c>PCI_CLASS_STORAGE_EXPRESS</c> with the NVMe programming interface (<c>0x010802</c>).</summary>
    public const uint ClassStorageExpress = 0x01_08_02;

    private readonly DmaApi _dma;
    private readonly PciDriverCore<NvmeDev> _core = new("nvme", Matches, d => d.Pdev);

    /// <summary>The driver over a machine's DMA API (which carries the fabric, the P2PDMA core and the page allocator).</summary>
    /// <exception cref="ArgumentException">The DMA API has no page allocator (<see cref="DmaApi.Pages"/>) for queue memory.</exception>
    public NvmePciDriver(DmaApi dma, NvmeDriverOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dma);
        if (dma.Pages is null)
        {
            throw new ArgumentException("The NVMe driver needs a DMA API with a page allocator for coherent memory.", nameof(dma));
        }

        _dma = dma;
        Options = options ?? new NvmeDriverOptions();
    }

    public NvmeDriverOptions Options { get; }

    /// <summary>The bound controllers, in probe order.</summary>
    public IReadOnlyList<NvmeDev> Devices => _core.Devices;

    /// <summary>Probe failures (<c>nvme 0000:01:00.0: probe failed …</c>); each controller keeps its own log too.</summary>
    public IReadOnlyList<string> KernelLog => _core.KernelLog;

    /// <summary>The driver's <c>id_table</c>: an endpoint whose class code reads 01 08 02.</summary>
    public static bool Matches(PciFunction function)
    {
        ArgumentNullException.ThrowIfNull(function);
        uint classCode = function.Config.Read8(PciConfig.ClassProg) | ((uint)function.Config.Read16(PciConfig.ClassDevice) << 8);
        return function is PciEndpoint && classCode == ClassStorageExpress;
    }

    /// <summary>Probes every matching function of the fabric not yet bound, in kernel list order.</summary>
    /// <returns>How many probes succeeded.</returns>
    public int ProbeAll() => _core.ProbeAll(_dma.Fabric, (pdev, instance) => NvmeDev.Probe(pdev, instance, _dma, Options));

    /// <summary><c>nvme_probe</c> on one function with this driver's options (or <paramref name="options"/>).</summary>
    /// <returns>The bound controller, or the probe's error (ENODEV for a function that does not match or is already bound).</returns>
    public Result<NvmeDev> Probe(PciFunction function, NvmeDriverOptions? options = null) =>
        _core.Probe(function, (pdev, instance) => NvmeDev.Probe(pdev, instance, _dma, options ?? Options));

    /// <summary><c>nvme_remove</c>: unbinds <paramref name="dev"/> (see <see cref="NvmeDev"/> for what is torn down).</summary>
    /// <exception cref="ArgumentException"><paramref name="dev"/> is not bound to this driver.</exception>
    public void Remove(NvmeDev dev)
    {
        _core.Unbind(dev);

        // Outside the driver's lock: removal waits for every pin of the CMB, and the threads holding them may look
        // up devices meanwhile.
        dev.Remove();
    }

    /// <summary>The controller bound to <paramref name="function"/>, or null.</summary>
    public NvmeDev? Find(PciFunction function) => _core.Find(function);
}
