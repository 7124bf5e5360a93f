using System;
using System.Buffers.Binary;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Devices.Nvme;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Iommu.Hardware;
using P2pEmu.Testing;

namespace P2pEmu.Integration.Tests.Nvme;

/// <summary>
/// A machine with one NVMe controller (nvme0, behind rp0) and a memory endpoint (peer, behind rp1) on a host
/// bridge that forwards peer-to-peer; the test acts as the driver through BAR0 MMIO and host RAM.
/// </summary>
internal sealed class NvmeHarness : IDisposable
{
    public const ulong AsqOffset = 0x10_0000;
    public const ulong AcqOffset = 0x10_1000;
    public const ulong IoSqOffset = 0x11_0000;
    public const ulong IoCqOffset = 0x11_1000;
    public const ulong DataOffset = 0x20_0000;
    public const ulong ListOffset = 0x30_0000;
    public const ulong ScratchOffset = 0x3F_0000;

    /// <summary>A bus address nothing claims: above the 64 MiB of RAM, below the MMIO windows.</summary>
    public const ulong HoleAddress = 0x4000_0000;

    private readonly NvmeModels _models;

    public NvmeHarness(ulong cmbBytes = 0, params ulong[] namespaceBytes)
        : this(cmbBytes, IommuMode.Off, namespaceBytes)
    {
    }

    /// <summary>The same machine with the host bridge's IOMMU in <paramref name="iommu"/> mode (install it with <see cref="InstallIommu"/>).</summary>
    public NvmeHarness(ulong cmbBytes, IommuMode iommu, params ulong[] namespaceBytes)
    {
        var namespaces = new NamespaceDescription[namespaceBytes.Length];
        for (int i = 0; i < namespaceBytes.Length; i++)
        {
            namespaces[i] = new NamespaceDescription(namespaceBytes[i], null, $"$.nvme0.namespaces[{i}]");
        }

        var nvme = new DeviceDescription("nvme0", DeviceKind.Nvme, "$.nvme0") { Namespaces = namespaces, CmbBytes = cmbBytes };
        TopologyDescription topology = Topo.Machine(Topo.HostBridge("hb0", 0, 0, true,
            Topo.RootPort("rp0", nvme), Topo.RootPort("rp1", Topo.Endpoint("peer"))) with { Iommu = iommu });
        _models = new NvmeModels();
        Fabric = NvmeModels.Build(topology, _models);
        Controller = _models.Controllers["nvme0"];
        Endpoint = (PciEndpoint)Fabric["nvme0"];
        Bar0 = Endpoint.GetBar(0)!.Address;
    }

    public PcieFabric Fabric { get; }

    public NvmeController Controller { get; }

    public PciEndpoint Endpoint { get; }

    public ulong Bar0 { get; }

    public HostQueue? Admin { get; private set; }

    public ulong Bus(ulong ramOffset) => Fabric.RamBusAddress(ramOffset);

    public uint Read32(NvmeRegister register) => Read32((uint)register);

    public uint Read32(uint offset)
    {
        Span<byte> bytes = stackalloc byte[4];
        Fabric.TryHostRead(Bar0 + offset, bytes);
        return BinaryPrimitives.ReadUInt32LittleEndian(bytes);
    }

    public ulong Read64(NvmeRegister register)
    {
        Span<byte> bytes = stackalloc byte[8];
        Fabric.TryHostRead(Bar0 + (uint)register, bytes);
        return BinaryPrimitives.ReadUInt64LittleEndian(bytes);
    }

    public void Write32(NvmeRegister register, uint value) => Write32((uint)register, value);

    public void Write32(uint offset, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        if (!Fabric.TryHostWrite(Bar0 + offset, bytes))
        {
            throw new InvalidOperationException($"MMIO write at BAR0+0x{offset:x} was not claimed.");
        }
    }

    public void Write64(uint offset, ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        if (!Fabric.TryHostWrite(Bar0 + offset, bytes))
        {
            throw new InvalidOperationException($"MMIO write at BAR0+0x{offset:x} was not claimed.");
        }
    }

    public void WriteDoorbell(int index, uint value) => Write32((uint)NvmeRegister.Sq0Tdbl + ((uint)index * 4), value);

    /// <summary>Linux's nvme_pci_configure_admin_queue + nvme_enable_ctrl: AQA, ASQ, ACQ, then CC with EN, IOSQES 6, IOCQES 4.</summary>
    public void Enable(uint adminEntries = 16, ulong? asqBus = null)
    {
        Write32(NvmeRegister.Aqa, (adminEntries - 1) | ((adminEntries - 1) << 16));
        Write64((uint)NvmeRegister.Asq, asqBus ?? Bus(AsqOffset));
        Write64((uint)NvmeRegister.Acq, Bus(AcqOffset));
        Write32(NvmeRegister.Cc, 1u | (6u << 16) | (4u << 20));
        Admin = new HostQueue(this, 0, AsqOffset, AcqOffset, adminEntries);
    }

    public void Disable() => Write32(NvmeRegister.Cc, (6u << 16) | (4u << 20));

    public NvmeCompletion AdminCommand(NvmeCommand command) => Admin!.Submit(command);

    /// <summary>
    /// Creates I/O CQ then SQ <paramref name="id"/> with <paramref name="entries"/> entries; both must succeed. With
    /// <paramref name="interruptVector"/> the CQ has interrupts enabled (IEN) on that MSI-X vector (IV).
    /// </summary>
    public HostQueue CreateIoQueuePair(ushort id, uint entries, ulong sqOffset = IoSqOffset, ulong cqOffset = IoCqOffset, int? interruptVector = null)
    {
        NvmeCompletion cq = AdminCommand(new NvmeCommand
        {
            Opcode = 0x05,
            Cid = 0x100,
            Prp1 = Bus(cqOffset),
            Cdw10 = id | ((entries - 1) << 16),
            Cdw11 = interruptVector is int vector ? 1u | 2u | ((uint)vector << 16) : 1u,
        });
        NvmeCompletion sq = AdminCommand(new NvmeCommand
        {
            Opcode = 0x01,
            Cid = 0x101,
            Prp1 = Bus(sqOffset),
            Cdw10 = id | ((entries - 1) << 16),
            Cdw11 = 1u | ((uint)id << 16),
        });
        if (cq.StatusPhase >> 1 != 0 || sq.StatusPhase >> 1 != 0)
        {
            throw new InvalidOperationException($"Queue creation failed: CQ 0x{cq.StatusPhase:x}, SQ 0x{sq.StatusPhase:x}.");
        }

        return new HostQueue(this, id, sqOffset, cqOffset, entries);
    }

    /// <summary>Linux's pci_msix_*: MSI-X Enable and Function Mask in the capability's Message Control.</summary>
    public void SetMsiXControl(bool enable, bool functionMask = false) =>
        Endpoint.Config.Write16(
            Endpoint.MsiXCapabilityOffset + MsiXConfig.Flags,
            (ushort)((enable ? MsiXConfig.FlagsEnable : 0) | (functionMask ? MsiXConfig.FlagsMaskAll : 0)));

    /// <summary>Allocates a host vector and writes it into MSI-X table entry <paramref name="vector"/> (found through config space), as a driver does.</summary>
    public MsiMsg ProgramVector(int vector, bool masked = false)
    {
        MsiMsg message = Fabric.Msi.Allocate().Value;
        uint entry = TableEntry(vector);
        Write32(entry + MsiXConfig.EntryLowerAddress, message.AddressLo);
        Write32(entry + MsiXConfig.EntryUpperAddress, message.AddressHi);
        Write32(entry + MsiXConfig.EntryData, message.Data);
        MaskVector(vector, masked);
        return message;
    }

    /// <summary>Writes the Mask bit of table entry <paramref name="vector"/>'s Vector Control.</summary>
    public void MaskVector(int vector, bool masked) => Write32(TableEntry(vector) + MsiXConfig.EntryVectorControl, masked ? MsiXConfig.EntryCtrlMaskBit : 0);

    /// <summary>Dword <paramref name="index"/> of the Pending Bit Array (vectors 32 × index to 32 × index + 31).</summary>
    public uint ReadPendingBits(int index) => Read32(Endpoint.MsiXPbaLocation.Offset + ((uint)index * 4));

    /// <summary>Puts the host bridge's IOMMU in place with one domain for nvme0 that identity-maps the first <paramref name="bytes"/> of RAM.</summary>
    public IommuUnit InstallIommu(ulong bytes)
    {
        var pages = new HostPageAllocator(Fabric);
        IommuUnit unit = IommuUnit.Install(Fabric, Fabric.HostBridges[0], pages);
        IommuDomain domain = unit.AllocateDomain().Value;
        if (domain.Map(new Iova(0), new BusAddress(0), bytes, IommuProt.Read | IommuProt.Write) != Errno.None)
        {
            throw new InvalidOperationException("The identity mapping failed.");
        }

        unit.Attach(Endpoint, domain);
        return unit;
    }

    private uint TableEntry(int vector) => Endpoint.MsiXTableLocation.Offset + ((uint)vector * MsiXConfig.EntrySize);

    /// <summary>The newest Error Information log entry, read with Get Log Page (16 dwords) into the scratch page.</summary>
    public NvmeErrorLogEntry NewestError()
    {
        NvmeCompletion log = AdminCommand(new NvmeCommand { Opcode = 0x02, Cid = 0xE00, Prp1 = Bus(ScratchOffset), Cdw10 = 0x01u | (15u << 16) });
        if (log.StatusPhase >> 1 != 0)
        {
            throw new InvalidOperationException($"Get Log Page failed: 0x{log.StatusPhase:x}.");
        }

        return Fabric.Ram.Region.Read<NvmeErrorLogEntry>(ScratchOffset);
    }

    public void Dispose()
    {
        Fabric.Dispose();
        _models.Dispose();
    }
}
