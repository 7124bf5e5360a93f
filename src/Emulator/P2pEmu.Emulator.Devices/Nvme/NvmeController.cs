using System;
using System.Collections.Generic;
using P2pEmu.Emulator.Execution;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Registers;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Emulator.Devices.Nvme;

/// <summary>
/// An NVMe controller (NVMe base spec 2.0, NVM command set): the BAR0 register block, the admin queue and
/// I/O queues, and namespaces of 512-byte blocks. Commands and data move by DMA through the device's own
/// <see cref="DmaPort"/>, so every address it uses is a wire address the fabric routes (and an IOMMU, if
/// present, translates: the controller never knows).
/// </summary>
/// <remarks>
/// <para>
/// CC.EN and CC.SHN transitions complete synchronously inside the CC write (CSTS.RDY/CFS/SHST are final when the
/// write returns; a documented deviation from hardware timing). The queues are processed by a
/// <see cref="DeviceEngine"/>: in <see cref="ExecutionMode.Deterministic"/> mode a doorbell write fetches, executes
/// and completes every submitted command (and sends the interrupts) before it returns; in
/// <see cref="ExecutionMode.Concurrent"/> mode it only wakes the controller's own thread. Interrupts are MSI-X only
/// (one message per completion queue per round, see <see cref="MsiX"/>); with MSI-X disabled no interrupt is raised
/// and drivers poll completion phase tags.
/// </para>
/// <para>
/// Guest errors are device behaviour (STYLE R6): a bad command completes with an error status, a failed data
/// DMA completes with Data Transfer Error, and a failed queue-entry fetch or completion post sets CSTS.CFS.
/// </para>
/// <para>
/// Threading: BAR0 may be accessed from any number of host threads. Register accesses and the engine's commands
/// serialize on one controller lock, one command at a time, so a CC write that disables or resets the controller
/// waits for the command in progress and the engine stops before the next one (see <see cref="RunQueues"/>).
/// </para>
/// </remarks>
public sealed partial class NvmeController : IAttachableDevice
{
    /// <summary>Size of the BAR0 register block.</summary>
    public const uint Bar0SizeBytes = 16 << 10;

    /// <summary>Highest I/O queue identifier (and the most I/O SQs or CQs Set Features grants).</summary>
    public const int MaxIoQueues = 64;

    /// <summary>CAP.MQES: the largest queue is 1024 entries (0-based value).</summary>
    public const ushort MaxQueueEntriesZeroBased = 1023;

    /// <summary>The memory page size: CAP.MPSMIN = CAP.MPSMAX = 0 (4 KiB).</summary>
    public const int PageBytes = 4096;

    /// <summary>Identify Controller MDTS: transfers up to 2^5 pages (128 KiB).</summary>
    public const byte Mdts = 5;

    /// <summary>Offset of the MSI-X table in BAR0: one vector per queue pair (vector 0 for the admin queue).</summary>
    public const uint MsiXTableOffset = 0x2000;

    /// <summary>Offset of the MSI-X Pending Bit Array in BAR0.</summary>
    public const uint MsiXPbaOffset = 0x3000;

    /// <summary>MSI-X vectors: one per queue pair, admin included.</summary>
    public const int InterruptVectors = MaxIoQueues + 1;

    private const ulong PageMask = PageBytes - 1;
    private const int SqEntryBytes = 64;
    private const int CqEntryBytes = 16;

    private readonly RegisterBlock _regs;
    private readonly MsiXTable _msix;
    private readonly NvmeNamespace[] _namespaces;
    private readonly NvmeQueue?[] _submissionQueues = new NvmeQueue?[MaxIoQueues + 1];
    private readonly NvmeQueue?[] _completionQueues = new NvmeQueue?[MaxIoQueues + 1];
    private readonly byte[] _identifyBuffer = new byte[PageBytes];
    private DmaPort? _dma;
    private int _ioSubmissionQueuesAllocated = MaxIoQueues;
    private int _ioCompletionQueuesAllocated = MaxIoQueues;

    /// <summary>Creates a controller with its registers at reset values and its namespaces allocated.</summary>
    /// <param name="vendorId">PCI vendor ID, reported as Identify Controller VID/SSVID.</param>
    /// <param name="serialNumber">Identify Controller SN (ASCII, at most 20 characters are reported).</param>
    /// <param name="cmbBytes">Size of the controller memory buffer (BAR2), 0 for none; a power of two ≥ 4 KiB.</param>
    /// <param name="namespaces">Namespace sizes in order: NSID 1, 2, …</param>
    /// <exception cref="PlatformNotSupportedException">The host is big-endian (NVMe structures are little-endian).</exception>
    /// <exception cref="ArgumentException">The CMB size is not a power of two of at least 4 KiB.</exception>
    /// <param name="mode">How the queues are processed: inline in the doorbell write, or on the controller's own thread.</param>
    public NvmeController(ushort vendorId, string serialNumber, ulong cmbBytes, IReadOnlyList<NamespaceDescription> namespaces, ExecutionMode mode = ExecutionMode.Deterministic)
    {
        ArgumentNullException.ThrowIfNull(serialNumber);
        ArgumentNullException.ThrowIfNull(namespaces);
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("NVMe structures are read in place and need a little-endian host.");
        }

        if (cmbBytes != 0 && (cmbBytes < PageBytes || (cmbBytes & (cmbBytes - 1)) != 0))
        {
            throw new ArgumentException("The CMB size must be a power of two of at least 4 KiB.", nameof(cmbBytes));
        }

        Mode = mode;
        VendorId = vendorId;
        SerialNumber = serialNumber;
        CmbBytes = cmbBytes;
        _namespaces = new NvmeNamespace[namespaces.Count];
        for (int i = 0; i < namespaces.Count; i++)
        {
            _namespaces[i] = new NvmeNamespace((uint)(i + 1), namespaces[i].SizeBytes, namespaces[i].BackingPath, namespaces[i].InRam);
        }

        _regs = new RegisterBlock(Bar0SizeBytes);
        DefineRegisters();
        _msix = new MsiXTable(_regs, MsiXTableOffset, MsiXPbaOffset, InterruptVectors);
        _bar0 = new LockedRegisterBar(_regs, _lock, MsiXTableOffset, zeroAboveBlock: false, TakeKick, _engine.Kick);
    }

    /// <summary>
    /// BAR0's registers as the host reaches them (serialized with the controller's processing; a doorbell write kicks
    /// the engine): put it behind BAR0 as the BAR's <see cref="BarSpec.Mmio"/>.
    /// </summary>
    public IMmioHandler Registers => _bar0;

    /// <summary>The MSI-X table and PBA in BAR0; put <see cref="MsiXTable.Describe"/>(0) in the function's identity.</summary>
    public MsiXTable MsiX => _msix;

    /// <summary>PCI vendor ID reported by Identify.</summary>
    public ushort VendorId { get; }

    /// <summary>Identify Controller serial number.</summary>
    public string SerialNumber { get; }

    /// <summary>Controller memory buffer size in bytes (BAR2), 0 when there is none.</summary>
    public ulong CmbBytes { get; }

    /// <summary>The namespaces, NSID = index + 1.</summary>
    public IReadOnlyList<NvmeNamespace> Namespaces => _namespaces;

    /// <summary>The PCI function the controller's DMA comes from, once attached.</summary>
    public PciEndpoint? Function { get; private set; }

    /// <summary>Doorbell writes ignored because they named a missing queue or an out-of-range index.</summary>
    public long InvalidDoorbellWriteCount { get; private set; }

    /// <summary>
    /// Connects the controller to the fabric it was built into: from now on it DMAs as <paramref name="function"/>.
    /// Call after <see cref="FabricBuilder.Build"/>, before the guest enables the controller.
    /// </summary>
    /// <exception cref="InvalidOperationException">The controller is already attached.</exception>
    public void Attach(PcieFabric fabric, PciEndpoint function)
    {
        ArgumentNullException.ThrowIfNull(fabric);
        ArgumentNullException.ThrowIfNull(function);
        if (_dma is not null)
        {
            throw new InvalidOperationException("The NVMe controller is already attached to a fabric.");
        }

        _dma = new DmaPort(fabric, function);
        Function = function;
        _cmbMemory = CmbBytes != 0 ? function.GetBar(2)?.Memory : null;
        StartEngine(function.Name);
        if (function.MsiXCapabilityOffset != 0)
        {
            _msix.Attach(_dma);
        }
    }

    /// <summary>
    /// Stops the engine (after the command in progress) and frees the namespaces' memory. Later doorbell writes are
    /// ignored. Call before the fabric that routes to this controller is disposed, so no command is in flight then.
    /// </summary>
    public void Dispose()
    {
        Stop();
        foreach (NvmeNamespace ns in _namespaces)
        {
            ns.Dispose();
        }
    }

    private NvmeNamespace? FindNamespace(uint nsid) =>
        nsid >= 1 && nsid <= (uint)_namespaces.Length ? _namespaces[nsid - 1] : null;
}
