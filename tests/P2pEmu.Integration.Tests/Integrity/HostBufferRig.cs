using System;
using P2pEmu.Dma.Mapping;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Iommu.Hardware;
using P2pEmu.Testing;

namespace P2pEmu.Integration.Tests.Integrity;

/// <summary>
/// One endpoint "dev" under a root port, its host bridge's IOMMU in the given mode, and a physically contiguous,
/// naturally aligned host RAM buffer of 2^order pages filled with seeded background bytes.
/// </summary>
internal sealed class HostBufferRig : IDisposable
{
    public HostBufferRig(IommuMode mode, int order, int seed)
    {
        HostBridgeDescription hb = Topo.HostBridge("hb0", Topo.HostDevice(), Topo.RootPort("rp", Topo.Endpoint("dev"))) with { Iommu = mode };
        Machine = P2pEmu.Machine.Machine.Build(Topo.Machine(hb));
        Device = (PciEndpoint)Machine.Fabric["dev"];
        Dma = Machine.Dma.GetDevice(Device);
        Port = new DmaPort(Machine.Fabric, Device);
        BufferBytes = HostPageAllocator.PageSize << order;
        Buffer = Machine.Pages.AllocPages(order).Value;
        Background = Seeded.Bytes(seed ^ 0x5a5a, (int)BufferBytes);
        Background.CopyTo(Ram);
    }

    public P2pEmu.Machine.Machine Machine { get; }

    public PciEndpoint Device { get; }

    public DmaDevice Dma { get; }

    public DmaPort Port { get; }

    /// <summary>The bus (physical) address of the buffer.</summary>
    public ulong Buffer { get; }

    public ulong BufferBytes { get; }

    /// <summary>What the buffer held before any DMA.</summary>
    public byte[] Background { get; }

    /// <summary>The buffer's backing bytes, read directly (the reference view, not through the fabric).</summary>
    public Span<byte> Ram
    {
        get
        {
            if (!Machine.Fabric.TryFindRam(Buffer, out ulong offset, out _))
            {
                throw new InvalidOperationException($"0x{Buffer:x} is not host RAM");
            }

            return Machine.Fabric.Ram.Region.GetSpan(offset, (int)BufferBytes);
        }
    }

    /// <summary>The page size of the IOMMU leaf that translates <paramref name="address"/> for the device; 0 without a domain.</summary>
    public ulong LeafBytes(DmaAddress address)
    {
        IommuDomain? domain = Machine.Iommus[0].GetDomain(Device);
        if (domain is null)
        {
            return 0;
        }

        return new PageTableWalker(Machine.Fabric).TryWalk(domain.RootTable, new Iova(address.Value), IommuProt.Read, out PageWalkResult walk)
            ? walk.PageSizeBytes
            : 0;
    }

    public void Dispose() => Machine.Dispose();
}
