using System;
using P2pEmu.Emulator.Execution;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Registers;

namespace P2pEmu.Emulator.Devices.Accel;

/// <summary>
/// An accelerator (the topology's <c>accelerator</c> / <c>accel</c> kind): a register BAR0 with a DMA copy engine
/// driven by a descriptor ring and an MSI-X table, and a device-memory BAR1 of the topology's <c>memory</c> size
/// (plain memory the fabric copies into, so it provides P2P memory). Each descriptor copies every byte once through the
/// device's own <see cref="DmaPort"/>: between two outside addresses with one
/// <see cref="DmaPort.Copy(Addressing.DmaAddress, Addressing.DmaAddress, ulong)"/>, between its own memory (reached
/// internally, as BAR1's range) and an outside address with one DMA read or write straight into or out of it. So a
/// copy between its memory and a peer BAR or host RAM is a real device-initiated P2P DMA that the fabric routes and an
/// IOMMU, if present, translates; the device never knows. The register map and descriptor format are in
/// docs/accelerator.md.
/// </summary>
/// <remarks>
/// <para>
/// Engine: in <see cref="ExecutionMode.Deterministic"/> mode a tail doorbell write processes the ring up to the new
/// tail (and raises the interrupt) before it returns; in <see cref="ExecutionMode.Concurrent"/> mode it wakes the
/// device's own thread. Descriptors are processed in ring order, one at a time.
/// </para>
/// <para>
/// Errors are device behaviour (STYLE R6), as on real DMA engines: a descriptor with a reserved flag, or whose copy
/// fails, gets an error status written back, the engine sets STATUS.HALT, leaves RING_HEAD at that descriptor, records
/// ERR_CODE/ERR_INDEX/ERR_ADDR, raises the interrupt, and processes nothing more until CTRL.RST. A failed descriptor
/// fetch or status write-back sets STATUS.FATAL (and halts the same way). Bytes before a failed transaction landed;
/// nothing at or after it was written.
/// </para>
/// <para>
/// Threading: BAR0 may be accessed from any number of host threads. Register accesses below the MSI-X table and each
/// descriptor the engine processes serialize on one device lock, so a disable or reset waits for the descriptor in
/// progress and the engine stops before the next one. The lock is never held while the interrupt message goes out.
/// </para>
/// </remarks>
public sealed partial class AccelDevice : IAttachableDevice
{
    /// <summary>Size of BAR0 (as the default accelerator model has it): the registers, then reserved space that reads 0.</summary>
    public const uint Bar0SizeBytes = 16u << 20;

    /// <summary>Bytes of BAR0 that hold registers and the MSI-X table; the rest of BAR0 reads 0 and ignores writes.</summary>
    public const uint RegisterBytes = 16u << 10;

    /// <summary>Offset of the MSI-X table in BAR0.</summary>
    public const uint MsiXTableOffset = 0x2000;

    /// <summary>Offset of the MSI-X Pending Bit Array in BAR0.</summary>
    public const uint MsiXPbaOffset = 0x3000;

    /// <summary>MSI-X vectors: vector 0 is the copy engine's (completion and error).</summary>
    public const int InterruptVectors = 1;

    /// <summary>The largest ring, in descriptors.</summary>
    public const uint MaxRingEntries = 4096;

    /// <summary>The ID register's value: "ACEL" in ASCII, little-endian.</summary>
    public const uint IdValue = 0x4C45_4341;

    /// <summary>The VERSION register's value: 1.0.</summary>
    public const uint VersionValue = 0x0001_0000;

    private readonly RegisterBlock _regs;
    private readonly MsiXTable _msix;
    private DmaPort? _dma;

    /// <summary>Creates an accelerator with its registers at reset values.</summary>
    /// <param name="name">The device's name (its thread's name in concurrent mode).</param>
    /// <param name="memoryBytes">Size of the device-memory BAR (BAR1), as the MEMSIZE register reports it.</param>
    /// <param name="mode">How the ring is processed: inline in the doorbell write, or on the device's own thread.</param>
    /// <exception cref="PlatformNotSupportedException">The host is big-endian (descriptors are read in place, little-endian).</exception>
    public AccelDevice(string name, ulong memoryBytes, ExecutionMode mode = ExecutionMode.Deterministic)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Accelerator descriptors are read in place and need a little-endian host.");
        }

        Name = name;
        MemoryBytes = memoryBytes;
        Mode = mode;
        _regs = new RegisterBlock(RegisterBytes);
        DefineRegisters();
        _msix = new MsiXTable(_regs, MsiXTableOffset, MsiXPbaOffset, InterruptVectors);
        _bar0 = new LockedRegisterBar(_regs, _lock, MsiXTableOffset, zeroAboveBlock: true, TakeKick, _engine.Kick);
    }

    /// <summary>The device's topology name.</summary>
    public string Name { get; }

    /// <summary>Size of the device memory (BAR1) in bytes.</summary>
    public ulong MemoryBytes { get; }

    /// <summary>
    /// BAR0 as the host reaches it (serialized with the engine; a tail doorbell write kicks it): put it behind BAR0 as
    /// the BAR's <see cref="BarSpec.Mmio"/>, with a BAR of <see cref="Bar0SizeBytes"/>.
    /// </summary>
    public IMmioHandler Registers => _bar0;

    /// <summary>The MSI-X table and PBA in BAR0; put <see cref="MsiXTable.Describe"/>(0) in the function's identity.</summary>
    public MsiXTable MsiX => _msix;

    /// <summary>The PCI function the device's DMA comes from, once attached.</summary>
    public PciEndpoint? Function { get; private set; }

    /// <summary>
    /// Connects the device to the fabric it was built into: from now on it DMAs as <paramref name="function"/>.
    /// Call after <see cref="FabricBuilder.Build"/>, before the host enables the engine.
    /// </summary>
    /// <exception cref="InvalidOperationException">The device is already attached.</exception>
    public void Attach(PcieFabric fabric, PciEndpoint function)
    {
        ArgumentNullException.ThrowIfNull(fabric);
        ArgumentNullException.ThrowIfNull(function);
        if (_dma is not null)
        {
            throw new InvalidOperationException("The accelerator is already attached to a fabric.");
        }

        _dma = new DmaPort(fabric, function);
        Function = function;
        _memoryBar = function.GetBar(1);
        _memory = _memoryBar?.Memory;
        _engine.Start(function.Name, Mode, RunRing);
        if (function.MsiXCapabilityOffset != 0)
        {
            _msix.Attach(_dma);
        }
    }

    /// <summary>Stops the engine (see <see cref="Stop"/>). The device owns no memory of its own: BAR1 is the fabric's.</summary>
    public void Dispose() => Stop();
}
