using System;
using System.Collections.Generic;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Dma.Mapping;
using P2pEmu.Drivers.Pci;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Drivers.Rdma;

/// <summary>
/// The RDMA NIC's PCI driver: matches the emulated NIC (vendor 15b3, class 02 00 00), probes each into an
/// <see cref="RdmaDev"/> (<c>rdma0</c>, <c>rdma1</c>, … in probe order) and removes them.
/// </summary>
/// <remarks>Thread safety: probe and remove serialize on one lock.</remarks>
public sealed class RdmaPciDriver
{
    /// <summary><c>PCI_CLASS_NETWORK_ETHERNET</c> (<c>0x020000</c>).</summary>
    public const uint ClassNetworkEthernet = 0x02_00_00;

    /// <summary>The NIC model's vendor ID.</summary>
    public const ushort VendorId = 0x15B3;

    private readonly DmaApi _dma;
    private readonly DmaBufHost? _dmaBufs;
    private readonly PciDriverCore<RdmaDev> _core = new("rdma", Matches, d => d.Pdev);

    /// <summary>The driver over a machine's DMA API and, for dma-buf regions, its dma-buf framework.</summary>
    /// <exception cref="ArgumentException">The DMA API has no page allocator for queue memory.</exception>
    public RdmaPciDriver(DmaApi dma, DmaBufHost? dmaBufs = null)
    {
        ArgumentNullException.ThrowIfNull(dma);
        if (dma.Pages is null)
        {
            throw new ArgumentException("The RDMA driver needs a DMA API with a page allocator for queue memory.", nameof(dma));
        }

        _dma = dma;
        _dmaBufs = dmaBufs;
    }

    /// <summary>The bound devices, in probe order.</summary>
    public IReadOnlyList<RdmaDev> Devices => _core.Devices;

    /// <summary>Probe failures.</summary>
    public IReadOnlyList<string> KernelLog => _core.KernelLog;

    /// <summary>The driver's <c>id_table</c>: an endpoint of the NIC's vendor whose class code reads 02 00 00.</summary>
    public static bool Matches(PciFunction function)
    {
        ArgumentNullException.ThrowIfNull(function);
        uint classCode = function.Config.Read8(PciConfig.ClassProg) | ((uint)function.Config.Read16(PciConfig.ClassDevice) << 8);
        return function is PciEndpoint { IsVirtualFunction: false } && classCode == ClassNetworkEthernet
            && function.Config.Read16(PciConfig.VendorId) == VendorId;
    }

    /// <summary>Probes every matching function not yet bound, in kernel list order; returns how many probes succeeded.</summary>
    public int ProbeAll() => _core.ProbeAll(_dma.Fabric, (pdev, instance) => RdmaDev.Probe(pdev, instance, _dma, _dmaBufs));

    /// <summary>Probes one function.</summary>
    /// <returns>The device, or the probe's error (ENODEV for a function that does not match or is already bound).</returns>
    public Result<RdmaDev> Probe(PciFunction function) =>
        _core.Probe(function, (pdev, instance) => RdmaDev.Probe(pdev, instance, _dma, _dmaBufs));

    /// <summary>Unbinds <paramref name="dev"/>: the device is disabled and every region's pages released.</summary>
    /// <exception cref="ArgumentException"><paramref name="dev"/> is not bound to this driver.</exception>
    public void Remove(RdmaDev dev)
    {
        _core.Unbind(dev);
        dev.Shutdown();
    }

    /// <summary>The device bound to <paramref name="function"/>, if any.</summary>
    public RdmaDev? Find(PciFunction function) => _core.Find(function);
}
