using System;
using System.Buffers.Binary;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Registers;

namespace P2pEmu.Emulator.Pci;

/// <summary>
/// An MSI-X table and Pending Bit Array in a device's register BAR, and the device side of signalling a vector:
/// a posted memory write of the entry's Message Data to its Message Address, issued from the device's
/// <see cref="DmaPort"/>, so Bus Master Enable, ACS and routing apply like any other request of the device.
/// </summary>
/// <remarks>
/// <para>
/// Per vector: Message Address (bits 1:0 read as zero), Message Upper Address, Message Data, and Vector Control
/// (bit 0 Mask, set at reset). A vector signalled while its Mask bit or the function's Function Mask is set sets
/// its Pending bit instead, and the message is sent when software unmasks it (clearing the Mask bit, or clearing
/// Function Mask in the capability). The PBA is read-only. A signal while MSI-X Enable is clear is dropped and
/// leaves no Pending bit: without MSI-X the function would use INTx, which is not modelled.
/// </para>
/// <para>
/// Not modelled: a device clearing a Pending bit because the event no longer needs service (every pending vector
/// is sent on unmask), the TPH steering tag bits of Vector Control, and reset of the table by FLR.
/// </para>
/// <para>
/// Threading: guest table accesses, signals and Message Control writes must come from one thread at a time, the
/// thread that serializes the function's MMIO (the deterministic mode's only thread).
/// </para>
/// </remarks>
public sealed class MsiXTable
{
    private readonly RegisterArray _addressLow;
    private readonly RegisterArray _addressHigh;
    private readonly RegisterArray _data;
    private readonly RegisterArray _vectorControl;
    private readonly ulong[] _pending;
    private DmaPort? _port;
    private PciEndpoint? _function;
    private long _messagesSent;
    private long _messagesFailed;

    /// <summary>Defines the table (16 bytes per vector) and the PBA (whole QWORDs) as registers of <paramref name="registers"/>.</summary>
    /// <param name="registers">The register block behind the BAR the capability names.</param>
    /// <param name="tableOffset">Offset of the table in the block, a multiple of 8.</param>
    /// <param name="pbaOffset">Offset of the PBA in the block, a multiple of 8.</param>
    /// <param name="vectorCount">Number of vectors, 1 to 2048.</param>
    /// <exception cref="ArgumentOutOfRangeException">The vector count is out of range, or an offset is not QWORD aligned or does not fit.</exception>
    /// <exception cref="ArgumentException">The table or PBA overlaps registers already defined.</exception>
    public MsiXTable(RegisterBlock registers, uint tableOffset, uint pbaOffset, int vectorCount)
    {
        ArgumentNullException.ThrowIfNull(registers);
        ArgumentOutOfRangeException.ThrowIfLessThan(vectorCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(vectorCount, MsiXConfig.MaxVectors);
        if ((tableOffset & ~MsiXConfig.OffsetMask) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(tableOffset), tableOffset, "The MSI-X table must be QWORD aligned.");
        }

        if ((pbaOffset & ~MsiXConfig.OffsetMask) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(pbaOffset), pbaOffset, "The MSI-X PBA must be QWORD aligned.");
        }

        VectorCount = vectorCount;
        TableOffset = tableOffset;
        PbaOffset = pbaOffset;
        _pending = new ulong[(vectorCount + 63) / 64];

        const uint Stride = MsiXConfig.EntrySize;
        _addressLow = registers.DefineArray(tableOffset + MsiXConfig.EntryLowerAddress, vectorCount, Stride, name: "MSIX_ADDR_LO")
            .WithReservedBits(0, 2).WithField(2, 30, FieldMode.ReadWrite, "ADDR");
        _addressHigh = registers.DefineArray(tableOffset + MsiXConfig.EntryUpperAddress, vectorCount, Stride, name: "MSIX_ADDR_HI")
            .WithField(0, 32, FieldMode.ReadWrite, "ADDR");
        _data = registers.DefineArray(tableOffset + MsiXConfig.EntryData, vectorCount, Stride, name: "MSIX_DATA")
            .WithField(0, 32, FieldMode.ReadWrite, "DATA");
        _vectorControl = registers.DefineArray(tableOffset + MsiXConfig.EntryVectorControl, vectorCount, Stride, MsiXConfig.EntryCtrlMaskBit, "MSIX_CTRL")
            .WithFlag(0, FieldMode.ReadWrite, "MASK").WithReservedBits(1, 31).OnWrite(OnVectorControlWritten);
        registers.DefineArray(pbaOffset, _pending.Length * 2, 4, name: "MSIX_PBA")
            .WithField(0, 32, FieldMode.Read, "PENDING").OnRead((index, _) => unchecked((uint)(_pending[index / 2] >> (32 * (index % 2)))));
    }

    /// <summary>Number of vectors (the capability's Table Size + 1).</summary>
    public int VectorCount { get; }

    /// <summary>Offset of the table in its BAR.</summary>
    public uint TableOffset { get; }

    /// <summary>Offset of the PBA in its BAR.</summary>
    public uint PbaOffset { get; }

    /// <summary>Messages written successfully (delivered by the fabric).</summary>
    public long MessagesSent => _messagesSent;

    /// <summary>Messages whose write failed (and are lost).</summary>
    public long MessagesFailed => _messagesFailed;

    /// <summary>The capability a device model puts in its identity for this table, with table and PBA in BAR <paramref name="bar"/>.</summary>
    public MsiXSpec Describe(int bar) => new(VectorCount, bar, TableOffset, bar, PbaOffset);

    /// <summary>
    /// Connects the table to the function whose MSI-X capability governs it; messages go out through
    /// <paramref name="port"/>. Call after the fabric is built.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// Already attached, or the port's function has no MSI-X capability that describes this table.
    /// </exception>
    public void Attach(DmaPort port)
    {
        ArgumentNullException.ThrowIfNull(port);
        if (_port is not null)
        {
            throw new InvalidOperationException("The MSI-X table is already attached.");
        }

        if (port.Owner is not PciEndpoint function || function.MsiXCapabilityOffset == 0 || function.MsiXTableSize != VectorCount
            || function.MsiXTableLocation.Offset != TableOffset || function.MsiXPbaLocation.Offset != PbaOffset)
        {
            throw new InvalidOperationException($"{port.Owner.Name} has no MSI-X capability describing this table ({VectorCount} vectors at 0x{TableOffset:x}, PBA at 0x{PbaOffset:x}).");
        }

        _port = port;
        _function = function;
        function.MsiXControlWritten += OnControlWritten;
    }

    /// <summary>The entry's Message Address (upper and lower halves).</summary>
    public ulong MessageAddress(int vector)
    {
        CheckVector(vector);
        return ((ulong)_addressHigh[vector].Value << 32) | (_addressLow[vector].Value & ~3u);
    }

    /// <summary>The entry's Message Data.</summary>
    public uint MessageData(int vector)
    {
        CheckVector(vector);
        return _data[vector].Value;
    }

    /// <summary>The entry's Vector Control Mask bit.</summary>
    public bool IsMasked(int vector)
    {
        CheckVector(vector);
        return (_vectorControl[vector].Value & MsiXConfig.EntryCtrlMaskBit) != 0;
    }

    /// <summary>The vector's Pending bit in the PBA.</summary>
    public bool IsPending(int vector)
    {
        CheckVector(vector);
        return (_pending[vector / 64] & (1UL << (vector % 64))) != 0;
    }

    /// <summary>The device raises <paramref name="vector"/>: sent now, left pending while masked, or dropped while MSI-X is off.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The vector is not in the table (a device model bug, not a guest error).</exception>
    public MsiXSignal Signal(int vector)
    {
        CheckVector(vector);
        if (_function is null || !_function.MsiXEnabled)
        {
            return MsiXSignal.Disabled;
        }

        if (_function.MsiXFunctionMasked || IsMasked(vector))
        {
            _pending[vector / 64] |= 1UL << (vector % 64);
            return MsiXSignal.Pending;
        }

        return Send(vector);
    }

    private MsiXSignal Send(int vector)
    {
        Span<byte> data = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(data, MessageData(vector));
        if (_port!.Write(new DmaAddress(MessageAddress(vector)), data).IsSuccess)
        {
            _messagesSent++;
            return MsiXSignal.Sent;
        }

        _messagesFailed++;
        return MsiXSignal.Failed;
    }

    /// <summary>Sends <paramref name="vector"/> if it is pending and nothing masks it any more.</summary>
    private void SendIfUnmasked(int vector)
    {
        if (!IsPending(vector) || IsMasked(vector) || _function is null || !_function.MsiXEnabled || _function.MsiXFunctionMasked)
        {
            return;
        }

        _pending[vector / 64] &= ~(1UL << (vector % 64));
        Send(vector);
    }

    private void OnVectorControlWritten(int vector, uint old, uint now)
    {
        if ((old & ~now & MsiXConfig.EntryCtrlMaskBit) != 0)
        {
            SendIfUnmasked(vector);
        }
    }

    private void OnControlWritten(PciEndpoint function)
    {
        for (int vector = 0; vector < VectorCount; vector++)
        {
            SendIfUnmasked(vector);
        }
    }

    private void CheckVector(int vector)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(vector);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(vector, VectorCount);
    }
}
