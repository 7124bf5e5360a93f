using System;
using System.Threading;

namespace P2pEmu.Emulator.Registers;

/// <summary>
/// A 64-bit register of a <see cref="RegisterBlock"/> (NVMe CAP, ASQ, ACQ, CMBMSC), reachable as one 8-byte
/// access at its offset or as two 4-byte halves, the lower half at the offset.
/// </summary>
/// <remarks>
/// <para>
/// Field semantics are those of <see cref="Register"/>. Callbacks see the whole 64-bit value and run once per
/// guest access: an 8-byte access calls them once, a driver that writes the two halves calls
/// <see cref="OnWrite"/> twice (after the low half, then after the high half), as the device would observe it.
/// </para>
/// <para>
/// Threading: guest accesses are serialized by the caller; device code may read <see cref="Value"/> from
/// any thread (acquire) and set it (release). The guest's two half writes are two separate stores.
/// </para>
/// </remarks>
public sealed class Register64
{
    private const int Bits = 64;

    private FieldMasks _masks;
    private Func<ulong, ulong>? _onRead;
    private Action<ulong, ulong>? _onWrite;

    // Volatile loads and stores: see Value.
    private ulong _value;

    internal Register64(uint offset, ulong resetValue, string? name)
    {
        Offset = offset;
        ResetValue = resetValue;
        Name = name;
        _value = resetValue;
    }

    /// <summary>Byte offset of the register (its low half) in its block.</summary>
    public uint Offset { get; }

    /// <summary>The value <see cref="Reset"/> restores.</summary>
    public ulong ResetValue { get; }

    /// <summary>The spec mnemonic, for diagnostics.</summary>
    public string? Name { get; }

    /// <summary>The raw value for the device side: bypasses field modes and callbacks.</summary>
    /// <remarks>Acquire on get, release on set; a read-modify-write through this property is not atomic.</remarks>
    public ulong Value
    {
        get => Volatile.Read(ref _value);
        set => Volatile.Write(ref _value, value);
    }

    /// <summary>Declares a field of <paramref name="width"/> bits at bit <paramref name="position"/>.</summary>
    /// <param name="position">Lowest bit of the field, 0–63.</param>
    /// <param name="width">Number of bits, 1 to 64 − <paramref name="position"/>.</param>
    /// <param name="mode">The field's guest behaviour.</param>
    /// <param name="name">Spec mnemonic, for diagnostics.</param>
    /// <returns>This register, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The field does not fit in 64 bits.</exception>
    /// <exception cref="ArgumentException">The field overlaps another, or <paramref name="mode"/> is invalid.</exception>
    public Register64 WithField(int position, int width, FieldMode mode, string? name = null)
    {
        _masks.Add(position, width, mode, Bits, Name, name);
        return this;
    }

    /// <summary>Declares a one-bit field.</summary>
    /// <returns>This register, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="position"/> is not 0–63.</exception>
    /// <exception cref="ArgumentException">The flag overlaps another field, or <paramref name="mode"/> is invalid.</exception>
    public Register64 WithFlag(int position, FieldMode mode, string? name = null) => WithField(position, 1, mode, name);

    /// <summary>Declares reserved bits: they read as zero and ignore guest writes.</summary>
    /// <returns>This register, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The run does not fit in 64 bits.</exception>
    /// <exception cref="ArgumentException">The run overlaps a field.</exception>
    public Register64 WithReservedBits(int position, int width)
    {
        _masks.AddReserved(position, width, Bits, Name);
        return this;
    }

    /// <summary>
    /// Sets the guest-read callback: it receives the 64-bit value the read would return and returns what the
    /// guest sees (a half access then takes its half).
    /// </summary>
    /// <returns>This register, for chaining.</returns>
    /// <exception cref="InvalidOperationException">A read callback is already set.</exception>
    public Register64 OnRead(Func<ulong, ulong> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (_onRead is not null)
        {
            ThrowHelper.ThrowCallbackAlreadySet("OnRead", Name);
        }

        _onRead = callback;
        return this;
    }

    /// <summary>Sets the guest-write callback, called after every guest access that writes, with the 64-bit value before and after.</summary>
    /// <returns>This register, for chaining.</returns>
    /// <exception cref="InvalidOperationException">A write callback is already set.</exception>
    public Register64 OnWrite(Action<ulong, ulong> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (_onWrite is not null)
        {
            ThrowHelper.ThrowCallbackAlreadySet("OnWrite", Name);
        }

        _onWrite = callback;
        return this;
    }

    /// <summary>Restores <see cref="ResetValue"/> without calling any callback.</summary>
    public void Reset() => Value = ResetValue;

    /// <summary>A guest read of the byte lanes set in <paramref name="lanes"/> (0xFF per byte).</summary>
    internal ulong GuestRead(ulong lanes)
    {
        ulong value = _masks.ReadView(Volatile.Read(ref _value));
        if (_onRead is not null)
        {
            value = _onRead(value);
        }

        ulong clear = _masks.ReadToClear & lanes;
        if (clear != 0)
        {
            Volatile.Write(ref _value, Volatile.Read(ref _value) & ~clear);
        }

        return value;
    }

    /// <summary>A guest write of <paramref name="data"/> to the byte lanes set in <paramref name="lanes"/> (0xFF per byte).</summary>
    internal void GuestWrite(ulong data, ulong lanes)
    {
        ulong old = Volatile.Read(ref _value);
        ulong value = _masks.ApplyWrite(old, data, lanes);
        Volatile.Write(ref _value, value);
        _onWrite?.Invoke(old, value);
    }
}
