using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Dma.Mapping;
using P2pEmu.Drivers.Pci;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Drivers.Rdma;

/// <summary>
/// The RDMA driver of one NIC (Linux <c>struct ib_device</c> with the driver's private part, as mlx5_ib has it):
/// MMIO bring-up, the command interface, the event queue with its MSI-X vector (page faults, QP and CQ errors), and
/// the verbs: protection domains, CQs, RC QPs, posting and polling, and memory regions over user pages, kernel tables
/// and dma-bufs (<c>ib_umem_dmabuf</c>, dynamic with move_notify or pinned).
/// </summary>
/// <remarks>
/// Thread safety: commands serialize on one lock; verbs on different QPs and CQs may run on different threads, one
/// thread per QP or CQ at a time (as ibverbs applications use them). Lock order: a dma-buf's reservation lock, then the
/// command lock, then the device's own lock inside its register writes — the page fault handler and move_notify both
/// take them in that order.
/// </remarks>
public sealed partial class RdmaDev
{
    /// <summary>Event queue entries.</summary>
    public const int EventQueueEntries = 256;

    private readonly DmaApi _dma;
    private readonly CpuAccess _cpu;
    private readonly MsixVectors _vectors;
    private readonly Lock _commandLock = new();
    private readonly List<string> _log = new();
    private readonly Dictionary<uint, IbMr> _mrs = new();
    private readonly Dictionary<uint, IbQp> _qps = new();
    private readonly IbCq?[] _cqs;
    private readonly ulong _bar0;
    private PhysAddress _commandBlock;
    private DmaAddress _commandBlockDma;
    private PhysAddress _eq;
    private DmaAddress _eqDma;
    private uint _eqConsumer;
    private uint _nextPdn = 1;
    private uint _nextKey = 0x100;
    private uint _nextQpn = 1;
    private long _qpFatalEvents;
    private long _cqErrorEvents;
    private long _completionsPolled;

    private RdmaDev(PciEndpoint pdev, int instance, DmaApi dma, DmaBufHost? dmaBufs, ulong bar0)
    {
        Pdev = pdev;
        Instance = instance;
        Name = $"rdma{instance}";
        _dma = dma;
        DmaBufs = dmaBufs;
        _cpu = new CpuAccess(dma.Fabric);
        _vectors = new MsixVectors(pdev, _cpu, dma.Fabric.Msi);
        DmaDev = dma.GetDevice(pdev);
        _bar0 = bar0;
        _cqs = new IbCq?[Readl(NicHw.MaxCq)];
        MaxQp = Readl(NicHw.MaxQp);
        MaxQueueEntries = Readl(NicHw.MaxQueueEntries);
        Mac = ((ulong)(Readl(NicHw.MacHigh) & 0xFFFF) << 32) | Readl(NicHw.MacLow);
    }

    /// <summary>The PCI function the driver is bound to.</summary>
    public PciEndpoint Pdev { get; }

    /// <summary>The IB device name (<c>rdma0</c>, <c>rdma1</c>, … in probe order).</summary>
    public string Name { get; }

    /// <summary>Work completions polled from every CQ of the device.</summary>
    public long CompletionsPolled => Interlocked.Read(ref _completionsPolled);

    /// <summary>The device's instance number (<c>rdma&lt;n&gt;</c>).</summary>
    public int Instance { get; }

    /// <summary>The NIC's DMA device (<c>ibdev-&gt;dma_device</c>): what memory regions are mapped for.</summary>
    public DmaDevice DmaDev { get; }

    /// <summary>The dma-buf framework dma-buf regions import through; null when the machine has none.</summary>
    public DmaBufHost? DmaBufs { get; }

    /// <summary>The port's MAC address (from MAC_HI:MAC_LO).</summary>
    public ulong Mac { get; }

    /// <summary>The port's IPv4 address (its RoCEv2 GID), set with <see cref="SetIpv4"/>.</summary>
    public uint Ipv4 { get; private set; }

    public uint MaxQp { get; }

    public uint MaxQueueEntries { get; }

    /// <summary>QP fatal events the device reported (a local DMA failure put a QP in Error).</summary>
    public long QpFatalEvents => Interlocked.Read(ref _qpFatalEvents);

    /// <summary>CQ error events (a CQ overflowed or could not be written).</summary>
    public long CqErrorEvents => Interlocked.Read(ref _cqErrorEvents);

    /// <summary>Driver messages (<c>dev_info</c>/<c>dev_warn</c>).</summary>
    public IReadOnlyList<string> KernelLog
    {
        get
        {
            lock (_log)
            {
                return _log.ToArray();
            }
        }
    }

    /// <summary>
    /// Probe: enables memory decoding and bus mastering, resets and enables the device, waits for STATUS.RDY,
    /// allocates the command block and the event queue, and takes MSI-X entry 0 for the event queue.
    /// </summary>
    /// <returns>The device; ENODEV without a BAR0, EIO when the device does not become ready or a command fails.</returns>
    internal static Result<RdmaDev> Probe(PciEndpoint pdev, int instance, DmaApi dma, DmaBufHost? dmaBufs)
    {
        if (pdev.GetBar(0) is not PciBar bar0 || bar0.Address == 0)
        {
            return Errno.ENODEV;
        }

        ushort command = pdev.Config.Read16(PciConfig.Command);
        pdev.Config.Write16(PciConfig.Command, (ushort)(command | PciConfig.CommandMemory | PciConfig.CommandMaster));
        var dev = new RdmaDev(pdev, instance, dma, dmaBufs, bar0.Address);
        Errno up = dev.BringUp();
        if (up != Errno.None)
        {
            dev.Shutdown();
            return up;
        }

        return Result.Ok(dev);
    }

    private Errno BringUp()
    {
        Writel(NicHw.Control, 2); // RST
        Writel(NicHw.Control, NicHw.ControlEnable);
        if ((Readl(NicHw.Status) & NicHw.StatusReady) == 0)
        {
            Warn("device did not become ready");
            return Errno.EIO;
        }

        _commandBlock = _dma.DmaAllocCoherent(DmaDev, 4096, out _commandBlockDma);
        _cpu.LoHiWriteq(_bar0 + NicHw.CommandAddress, _commandBlockDma.Value);
        _eq = _dma.DmaAllocCoherent(DmaDev, EventQueueEntries * NicHw.EqeBytes, out _eqDma);
        Span<byte> zero = stackalloc byte[NicHw.EqeBytes];
        for (int i = 0; i < EventQueueEntries; i++)
        {
            _cpu.Write(_eq.Value + ((ulong)i * NicHw.EqeBytes), zero);
        }

        _cpu.LoHiWriteq(_bar0 + NicHw.EventQueueBase, _eqDma.Value);
        Writel(NicHw.EventQueueSize, EventQueueEntries);
        if (_vectors.Grow(1, _ => EqIrq()) == 0)
        {
            Info("no MSI-X: page faults of dma-buf regions are not resolved");
        }

        SetIpv4(0x0A00_0000 | (uint)(Mac & 0xFF_FFFF));
        RegisterDeviceMemory();
        return Errno.None;
    }

    /// <summary>
    /// The on-NIC memory (BAR2), registered and published as p2pmem (<c>pci_p2pdma_add_resource</c>,
    /// <c>pci_p2pmem_publish</c>), as nvme does with its CMB: other devices DMA into it and it can back memory regions.
    /// A deliberate addition: mainline RDMA drivers keep their device memory to themselves (mlx5 exposes it only
    /// through <c>ibv_alloc_dm</c>). A BAR that is not 2 MiB aligned in size and address is left out, as
    /// <c>memremap_compat_align</c> requires on x86-64.
    /// </summary>
    private void RegisterDeviceMemory()
    {
        const ulong Align = 2UL << 20;
        if (Pdev.GetBar(2) is not PciBar bar || bar.Memory is null || (bar.SizeBytes & (Align - 1)) != 0 || (bar.Address & (Align - 1)) != 0)
        {
            return;
        }

        if (_dma.P2p.PciP2pdmaAddResource(Pdev, 2, bar.SizeBytes, 0) != Errno.None)
        {
            Warn("failed to register the device memory as p2pmem");
            return;
        }

        _dma.P2p.PciP2pmemPublish(Pdev, true);
        DeviceMemoryBytes = bar.SizeBytes;
        Info(string.Create(CultureInfo.InvariantCulture, $"device memory: {bar.SizeBytes >> 10} KiB at BAR2 published as p2pmem"));
    }

    /// <summary>The on-NIC memory published as p2pmem, 0 when none.</summary>
    public ulong DeviceMemoryBytes { get; private set; }

    /// <summary>Sets the port's IPv4 address (as <c>ip addr add</c> would; RoCEv2 uses it as the GID).</summary>
    public void SetIpv4(uint address)
    {
        Ipv4 = address;
        Writel(NicHw.Ipv4, address);
    }

    /// <summary>Remove: disables the device (every QP, CQ and key is gone), frees its vectors and stops bus mastering.</summary>
    internal void Shutdown()
    {
        if (DeviceMemoryBytes != 0)
        {
            _dma.P2p.PciP2pmemPublish(Pdev, false);
            DeviceMemoryBytes = 0;
        }

        Writel(NicHw.Control, 0);
        _vectors.Free();
        ushort command = Pdev.Config.Read16(PciConfig.Command);
        Pdev.Config.Write16(PciConfig.Command, (ushort)(command & ~PciConfig.CommandMaster));
        lock (_mrs)
        {
            foreach (IbMr mr in _mrs.Values)
            {
                ReleaseBacking(mr);
            }

            _mrs.Clear();
        }
    }

    private uint Readl(uint register) => _cpu.Readl(_bar0 + register);

    private void Writel(uint register, uint value) => _cpu.Writel(_bar0 + register, value);

    /// <summary>Executes one command block; the device's status mapped to an errno.</summary>
    private Errno ExecCommand(ReadOnlySpan<byte> block)
    {
        lock (_commandLock)
        {
            _cpu.Write(_commandBlock.Value, block);
            Writel(NicHw.CommandDoorbell, 1);
            uint status = Readl(NicHw.CommandStatus);
            return status switch
            {
                0 => Errno.None,
                2 or 5 or 6 => Errno.EINVAL,
                3 => Errno.EBUSY,
                4 => Errno.ENOENT,
                _ => Errno.EIO,
            };
        }
    }

    private static void Put32(Span<byte> b, int at, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(b[at..], value);

    private static void Put64(Span<byte> b, int at, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(b[at..], value);

    /// <summary>The event queue's interrupt: page faults are resolved here, errors counted and logged.</summary>
    private void EqIrq()
    {
        unchecked
        {
            Span<byte> eqe = stackalloc byte[NicHw.EqeBytes];
            while (true)
            {
                ulong slot = _eq.Value + ((ulong)(_eqConsumer % EventQueueEntries) * NicHw.EqeBytes);
                _cpu.Read(slot, eqe);
                byte phase = (byte)(((_eqConsumer / EventQueueEntries) & 1) == 0 ? 1 : 0);
                if (eqe[1] != phase)
                {
                    break;
                }

                _eqConsumer++;
                uint key = BinaryPrimitives.ReadUInt32LittleEndian(eqe[4..]);
                switch (eqe[0])
                {
                    case NicHw.EventPageFault:
                        HandlePageFault(key, BinaryPrimitives.ReadUInt64LittleEndian(eqe[8..]));
                        break;
                    case NicHw.EventQpFatal:
                        Interlocked.Increment(ref _qpFatalEvents);
                        Warn(string.Create(CultureInfo.InvariantCulture, $"QP {key} fatal error (IB_EVENT_QP_FATAL)"));
                        break;
                    case NicHw.EventCqError:
                        Interlocked.Increment(ref _cqErrorEvents);
                        Warn(string.Create(CultureInfo.InvariantCulture, $"CQ {key} error (IB_EVENT_CQ_ERR)"));
                        break;
                }
            }

            Writel(NicHw.EventQueueConsumer, _eqConsumer);
        }
    }

    private void Info(string message)
    {
        lock (_log)
        {
            _log.Add($"{Name}: {message}");
        }
    }

    private void Warn(string message) => Info(message);

    public override string ToString() => $"{Name} ({Pdev})";
}
