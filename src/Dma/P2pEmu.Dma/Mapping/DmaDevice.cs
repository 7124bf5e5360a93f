using System;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Dma.Mapping;

/// <summary>
/// A PCI device as the DMA API sees it: its <c>struct device</c>, its DMA mask, and the ops that make its
/// DMA addresses (dma-direct or dma-iommu, from its host bridge's IOMMU mode).
/// </summary>
public sealed class DmaDevice
{
    private ulong _dmaMask = ulong.MaxValue;

    internal DmaDevice(PciFunction pci, IDmaOps ops, DmaApi api)
    {
        Pci = pci;
        Device = Device.ForPci(pci);
        Ops = ops;
        Api = api;
    }

    public PciFunction Pci { get; }

    /// <summary>The <c>struct device</c> P2PDMA looks at.</summary>
    public Device Device { get; }

    /// <summary><c>dma_set_mask</c>: the highest address the device can emit (default 64 bits).</summary>
    public ulong DmaMask
    {
        get => _dmaMask;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 0xFFFF_FFFFUL, nameof(DmaMask));
            _dmaMask = value;
        }
    }

    /// <summary>True when the device's DMA goes through an IOMMU domain (dma-iommu).</summary>
    public bool UsesIommu => Ops is not DmaDirectOps;

    /// <summary>The IOMMU domain the device's DMA addresses live in; null for dma-direct.</summary>
    public P2pEmu.Iommu.Hardware.IommuDomain? IommuDomain => (Ops as IommuDmaOps)?.Domain;

    /// <summary>The IOVA cookie of that domain (its allocator and, in lazy mode, its flush queue); null with dma-direct.</summary>
    public P2pEmu.Iommu.IovaAllocator.DmaIommuCookie? IommuCookie => (Ops as IommuDmaOps)?.Cookie;

    internal IDmaOps Ops { get; }

    /// <summary>The DMA API that made it.</summary>
    internal DmaApi Api { get; }

    public override string ToString() => Pci.ToString();
}
