using System;
using System.Collections.Generic;
using System.Threading;
using P2pEmu.Emulator.Devices.Net;
using P2pEmu.Emulator.Execution;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Registers;

namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>
/// An Ethernet NIC with a RoCEv2 RDMA engine (docs/nic.md is its programming manual): BAR0 registers, doorbells and
/// the MSI-X table; an optional on-NIC memory BAR2 (plain memory, a P2P provider like any memory BAR); Ethernet
/// transmit and receive descriptor rings; reliable-connected queue pairs with SEND/RECV, RDMA WRITE (with
/// immediate) and RDMA READ; completion queues; memory keys checked by key, PD, bounds and rights, whose pages the
/// device translates through an MTT that the driver can zap (a later access raises a page fault event). Every byte it
/// moves goes through its own <see cref="DmaPort"/>; every frame goes out on its <see cref="EthernetLink"/>.
/// </summary>
/// <remarks>
/// <para>
/// Guest errors are device behaviour: a bad command gets a CMD_STATUS, a bad work request or a failed DMA gets an
/// error completion (and, as InfiniBand requires, the QP goes to the Error state), a responder that cannot place or
/// fetch data NAKs or goes silent so the requester reports it; nothing throws.
/// </para>
/// <para>
/// Threading: the two NICs of a link exchange packets re-entrantly on one thread (a request's ACK is received while
/// the request is still being sent), so both take the link's <see cref="EthernetLink.SyncRoot"/> for every register
/// access below the MSI-X table and for all transport processing; an unlinked NIC has its own lock. Interrupts are
/// raised only after that lock is released, so handlers may call back into the device (resolve a page fault, ring a
/// doorbell).
/// </para>
/// </remarks>
public sealed partial class NicDevice : IWireEndpoint, IAttachableDevice
{
    /// <summary>Size of the BAR0 register block.</summary>
    public const uint Bar0SizeBytes = 64 << 10;

    /// <summary>Queue pairs 1 … 255 (QP 0 is reserved, as InfiniBand reserves QP0/QP1 for management).</summary>
    public const int MaxQps = 256;

    /// <summary>Completion queues 0 … 63.</summary>
    public const int MaxCqs = 64;

    /// <summary>Memory keys the device holds.</summary>
    public const int MaxMkeys = 4096;

    /// <summary>Largest ring of any kind, in entries.</summary>
    public const uint MaxQueueEntries = 4096;

    /// <summary>MSI-X vectors: 0 for the event queue, 1 for the Ethernet rings, 2 … for completion queues.</summary>
    public const int InterruptVectors = 2 + MaxCqs;

    /// <summary>MSI-X vector of the event queue.</summary>
    public const int EventVector = 0;

    /// <summary>MSI-X vector of the Ethernet rings.</summary>
    public const int EthernetVector = 1;

    private readonly RegisterBlock _regs;
    private readonly MsiXTable _msix;
    private readonly Bar0 _bar0;
    private readonly Lock _ownLock = new();
    private readonly NicQp?[] _qps = new NicQp?[MaxQps];
    private readonly NicCq?[] _cqs = new NicCq?[MaxCqs];
    private readonly Dictionary<uint, NicMkey> _mkeys = new();
    private DmaPort? _dma;
    private readonly EngineHandle _engine = new();
    private EthernetLink? _link;

    /// <summary>Creates a NIC with its registers at reset values.</summary>
    /// <param name="mac">The port's MAC address (reported in MAC_LO/MAC_HI and used as the frames' source).</param>
    /// <param name="memoryBytes">Size of the on-NIC memory BAR2 (0 for none); informational for the driver.</param>
    /// <param name="mode">How the send queues and rings are processed: inline in the doorbell write, or on the device's own thread.</param>
    /// <exception cref="PlatformNotSupportedException">The host is big-endian (the device's structures are little-endian).</exception>
    public NicDevice(MacAddress mac, ulong memoryBytes, ExecutionMode mode = ExecutionMode.Deterministic)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("NIC structures are read in place and need a little-endian host.");
        }

        Mac = mac;
        MemoryBytes = memoryBytes;
        Mode = mode;
        _bar0 = new Bar0(this);
        _regs = new RegisterBlock(Bar0SizeBytes);
        DefineRegisters();
        _msix = new MsiXTable(_regs, NicRegister.MsiXTable, NicRegister.MsiXPba, InterruptVectors);
    }

    /// <summary>The port's MAC address.</summary>
    public MacAddress Mac { get; }

    /// <summary>Size of the on-NIC memory BAR2, 0 when there is none.</summary>
    public ulong MemoryBytes { get; }

    /// <summary>How the device processes its queues.</summary>
    public ExecutionMode Mode { get; }

    /// <summary>BAR0's registers as the host reaches them: put it behind BAR0 as the BAR's <see cref="BarSpec.Mmio"/>.</summary>
    public IMmioHandler Registers => _bar0;

    /// <summary>The MSI-X table and PBA in BAR0; put <see cref="MsiXTable.Describe"/>(0) in the function's identity.</summary>
    public MsiXTable MsiX => _msix;

    /// <summary>The PCI function the device's DMA comes from, once attached.</summary>
    public PciEndpoint? Function { get; private set; }

    /// <summary>The link the port is plugged into, if any.</summary>
    public EthernetLink? Link => _link;

    /// <summary>Page faults raised on the event queue so far.</summary>
    public long PageFaults => Interlocked.Read(ref _pageFaults);

    /// <summary>Request packets the requester sent again after a NAK or a timeout.</summary>
    public long Retransmissions => Interlocked.Read(ref _retransmissions);

    /// <summary>Bytes of RDMA payload the device placed in memory (WRITE and SEND data received, READ responses).</summary>
    public long PayloadBytesReceived => Interlocked.Read(ref _payloadBytesReceived);

    private long _pageFaults;
    private long _retransmissions;
    private long _payloadBytesReceived;

    /// <summary>The lock all state is kept under: the link's while plugged in, the device's own otherwise.</summary>
    private Lock SyncRoot => _link?.SyncRoot ?? _ownLock;

    /// <summary>The other end of the link, when it is a NIC of this model.</summary>
    private NicDevice? Peer { get; set; }

    /// <summary>
    /// Connects the device to the fabric it was built into: from now on it DMAs as <paramref name="function"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The device is already attached.</exception>
    public void Attach(PcieFabric fabric, PciEndpoint function)
    {
        ArgumentNullException.ThrowIfNull(fabric);
        ArgumentNullException.ThrowIfNull(function);
        if (_dma is not null)
        {
            throw new InvalidOperationException("The NIC is already attached to a fabric.");
        }

        _dma = new DmaPort(fabric, function);
        Function = function;
        _engine.Start(function.Name, Mode, RunEngine);
        if (function.MsiXCapabilityOffset != 0)
        {
            _msix.Attach(_dma);
        }
    }

    /// <summary>
    /// Plugs two NICs into the two ends of <paramref name="link"/>. Do it before either is enabled: from then on both
    /// keep their state under the link's lock.
    /// </summary>
    /// <exception cref="InvalidOperationException">Either NIC is already plugged in.</exception>
    public static void Connect(EthernetLink link, NicDevice a, NicDevice b)
    {
        ArgumentNullException.ThrowIfNull(link);
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a._link is not null || b._link is not null || ReferenceEquals(a, b))
        {
            throw new InvalidOperationException("Each NIC can be plugged into one link, and a link joins two NICs.");
        }

        link.Connect(a, b);
        a._link = link;
        b._link = link;
        a.Peer = b;
        b.Peer = a;
    }

    /// <summary>
    /// Stops processing (after the round in progress); later doorbells are ignored, as for a device that lost power.
    /// Idempotent; <see cref="Dispose"/> calls it too.
    /// </summary>
    public void Stop() => _engine.Dispose();

    /// <summary>Stops the device.</summary>
    public void Dispose() => Stop();

    /// <summary>Waits until the engine has processed every doorbell rung so far (immediate in deterministic mode).</summary>
    public bool WaitIdle(TimeSpan timeout) => _engine.WaitIdle(timeout);

    private void KickEngine() => _engine.Kick();

    /// <summary>The handler behind BAR0: the register block under the device lock, kicking the engine after a doorbell.</summary>
    private sealed class Bar0 : IMmioHandler
    {
        private readonly NicDevice _device;

        public Bar0(NicDevice device)
        {
            _device = device;
        }

        public ulong Read(ulong offset, int sizeBytes)
        {
            NicDevice d = _device;
            if (offset >= NicRegister.MsiXTable)
            {
                return d._regs.Read(offset, sizeBytes);
            }

            lock (d.SyncRoot)
            {
                return d._regs.Read(offset, sizeBytes);
            }
        }

        public void Write(ulong offset, int sizeBytes, ulong value)
        {
            NicDevice d = _device;
            if (offset >= NicRegister.MsiXTable)
            {
                d._regs.Write(offset, sizeBytes, value);
                return;
            }

            bool kick;
            bool kickPeer;
            lock (d.SyncRoot)
            {
                d._regs.Write(offset, sizeBytes, value);
                kick = d._kick;
                kickPeer = d._kickPeer;
                d._kick = false;
                d._kickPeer = false;
            }

            d.RaisePendingInterrupts();
            if (kick)
            {
                d.KickEngine();
            }

            if (kickPeer)
            {
                d.Peer?.KickEngine();
            }
        }
    }
}
