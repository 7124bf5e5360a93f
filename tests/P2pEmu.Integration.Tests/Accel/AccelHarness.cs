using System;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using P2pEmu.Dma.Mapping;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Devices.Accel;
using P2pEmu.Emulator.Execution;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Emulator.Topology.Json;
using P2pEmu.Testing;

namespace P2pEmu.Integration.Tests.Accel;

/// <summary>
/// A machine with an accelerator "gpu0" (16 MiB of device memory) and an NVMe controller "nvme0" with a 1 MiB CMB on
/// two downstream ports of one switch, so gpu0 reaches the CMB peer to peer; the test acts as gpu0's driver: CPU stores
/// to BAR0, a descriptor ring and buffers in coherent host memory mapped for gpu0 (IOVAs when the IOMMU translates).
/// </summary>
internal sealed class AccelHarness : IDisposable
{
    public const ulong MiB = Topo.MiB;
    public const ulong DeviceMemoryBytes = 16 * MiB;
    public const ulong CmbBytes = 1 * MiB;

    public AccelHarness(IommuMode iommu = IommuMode.Off, bool bindDrivers = false, ExecutionMode mode = ExecutionMode.Deterministic, string kind = "accel")
    {
        TopologyDescription topology = TopologyJsonReader.Parse($$"""
            {
              "platform": { "ram": "64MiB" },
              "hostBridges": [ { "name": "hb0", "iommu": "{{IommuText(iommu)}}", "devices": [
                { "name": "hostdev", "kind": "host-bridge", "vendorId": "0x8086", "deviceId": "0x2020" },
                { "name": "rp0", "kind": "root-port", "children": [
                  { "name": "sw0", "kind": "switch", "ports": [
                    { "name": "sw0.dp0", "children": [ { "name": "gpu0", "kind": "{{kind}}", "memory": "16MiB" } ] },
                    { "name": "sw0.dp1", "children": [ { "name": "nvme0", "kind": "nvme", "cmb": { "size": "1MiB" } } ] } ] } ] } ] } ]
            }
            """);
        Machine = P2pEmu.Machine.Machine.Build(topology, new P2pEmu.Machine.MachineOptions { BindDrivers = bindDrivers, ExecutionMode = mode });
        Gpu = (PciEndpoint)Fabric["gpu0"];
        Nvme = (PciEndpoint)Fabric["nvme0"];
        Bar0 = Gpu.GetBar(0)!.Address;
        Bar1 = Gpu.GetBar(1)!.Address;
        Cmb = Nvme.GetBar(2)!.Address;
        Dev = Machine.Dma.GetDevice(Gpu);
    }

    public P2pEmu.Machine.Machine Machine { get; }

    public PcieFabric Fabric => Machine.Fabric;

    public PciEndpoint Gpu { get; }

    public PciEndpoint Nvme { get; }

    /// <summary>gpu0's DMA device (its IOMMU domain when the IOMMU translates).</summary>
    public DmaDevice Dev { get; }

    public ulong Bar0 { get; }

    /// <summary>Bus address of gpu0's device memory.</summary>
    public ulong Bar1 { get; }

    /// <summary>Bus address of nvme0's CMB.</summary>
    public ulong Cmb { get; }

    /// <summary>The ring, once <see cref="Enable"/> set it up: CPU address, DMA address, size.</summary>
    public (ulong Cpu, ulong Dma, uint Entries) Ring { get; private set; }

    /// <summary>The tail the driver last wrote.</summary>
    public uint Tail { get; private set; }

    public uint Read32(AccelRegister register)
    {
        Span<byte> bytes = stackalloc byte[4];
        if (!Fabric.TryHostRead(Bar0 + (uint)register, bytes))
        {
            throw new InvalidOperationException($"MMIO read at BAR0+0x{(uint)register:x} was not claimed.");
        }

        return BinaryPrimitives.ReadUInt32LittleEndian(bytes);
    }

    public ulong Read64(AccelRegister register)
    {
        Span<byte> bytes = stackalloc byte[8];
        Fabric.TryHostRead(Bar0 + (uint)register, bytes);
        return BinaryPrimitives.ReadUInt64LittleEndian(bytes);
    }

    public void Write32(uint offset, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        if (!Fabric.TryHostWrite(Bar0 + offset, bytes))
        {
            throw new InvalidOperationException($"MMIO write at BAR0+0x{offset:x} was not claimed.");
        }
    }

    public void Write32(AccelRegister register, uint value) => Write32((uint)register, value);

    public void Write64(AccelRegister register, ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        Fabric.TryHostWrite(Bar0 + (uint)register, bytes);
    }

    public bool Ready => (Read32(AccelRegister.Status) & 1) != 0;

    public bool Halted => (Read32(AccelRegister.Status) & 2) != 0;

    public bool Fatal => (Read32(AccelRegister.Status) & 4) != 0;

    /// <summary><c>dma_alloc_coherent</c> for gpu0: the CPU address and the address gpu0 uses.</summary>
    public (ulong Cpu, ulong Dma) Alloc(ulong bytes)
    {
        PhysAddress cpu = Machine.Dma.DmaAllocCoherent(Dev, bytes, out DmaAddress dma);
        if (DmaApi.IsMappingError(dma))
        {
            throw new InvalidOperationException("dma_alloc_coherent failed.");
        }

        return (cpu.Value, dma.Value);
    }

    /// <summary>A CPU store to host memory or MMIO (memcpy_toio for a BAR).</summary>
    public void CpuWrite(ulong address, ReadOnlySpan<byte> bytes)
    {
        if (!Fabric.TryHostWrite(address, bytes))
        {
            throw new InvalidOperationException($"CPU write at 0x{address:x} was not claimed.");
        }
    }

    /// <summary>A CPU load from host memory or MMIO (memcpy_fromio for a BAR).</summary>
    public byte[] CpuRead(ulong address, int length)
    {
        byte[] bytes = new byte[length];
        if (!Fabric.TryHostRead(address, bytes))
        {
            throw new InvalidOperationException($"CPU read at 0x{address:x} was not claimed.");
        }

        return bytes;
    }

    /// <summary>Allocates a ring of <paramref name="entries"/> in coherent memory, programs RING_BASE and RING_SIZE and sets CTRL.EN.</summary>
    public void Enable(uint entries = 16)
    {
        (ulong cpu, ulong dma) = Alloc(entries * (ulong)AccelDescriptor.SizeBytes);
        Ring = (cpu, dma, entries);
        Tail = 0;
        Write64(AccelRegister.RingBase, dma);
        Write32(AccelRegister.RingSize, entries);
        Write32(AccelRegister.Ctrl, 1);
    }

    /// <summary>Writes descriptors at the tail (status zeroed), then rings the tail doorbell once.</summary>
    public void Submit(params AccelDescriptor[] descriptors)
    {
        foreach (AccelDescriptor descriptor in descriptors)
        {
            AccelDescriptor d = descriptor;
            d.Status = 0;
            d.BytesDone = 0;
            byte[] bytes = new byte[AccelDescriptor.SizeBytes];
            MemoryMarshal.Write(bytes, in d);
            CpuWrite(Slot(Tail), bytes);
            Tail = (Tail + 1) % Ring.Entries;
        }

        Write32(AccelRegister.RingTail, Tail);
    }

    public AccelDescriptor ReadDescriptor(uint index) => MemoryMarshal.Read<AccelDescriptor>(CpuRead(Slot(index), AccelDescriptor.SizeBytes));

    /// <summary>The descriptor most recently submitted (the one before the tail).</summary>
    public AccelDescriptor Last => ReadDescriptor((Tail + Ring.Entries - 1) % Ring.Entries);

    public void Reset() => Write32(AccelRegister.Ctrl, 2);

    public static AccelDescriptor Copy(ulong source, ulong destination, uint length, uint flags = 0) =>
        new() { Source = source, Destination = destination, Length = length, Flags = flags };

    /// <summary>Enables MSI-X with vector 0 programmed to a fresh host vector, as a driver's pci_alloc_irq_vectors does.</summary>
    public MsiMsg EnableInterrupt()
    {
        MsiMsg message = Fabric.Msi.Allocate().Value;
        uint entry = Gpu.MsiXTableLocation.Offset;
        Write32(entry + MsiXConfig.EntryLowerAddress, message.AddressLo);
        Write32(entry + MsiXConfig.EntryUpperAddress, message.AddressHi);
        Write32(entry + MsiXConfig.EntryData, message.Data);
        Write32(entry + MsiXConfig.EntryVectorControl, 0);
        Gpu.Config.Write16(Gpu.MsiXCapabilityOffset + MsiXConfig.Flags, MsiXConfig.FlagsEnable);
        return message;
    }

    public void Dispose() => Machine.Dispose();

    private ulong Slot(uint index) => Ring.Cpu + ((ulong)index * AccelDescriptor.SizeBytes);

    private static string IommuText(IommuMode mode) => mode switch
    {
        IommuMode.Off => "off",
        IommuMode.Passthrough => "passthrough",
        _ => "translate",
    };
}
