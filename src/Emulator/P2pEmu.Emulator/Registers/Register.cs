using System;
using System.Collections.Generic;
using System.Threading;

namespace P2pEmu.Emulator.Registers;

/// <summary>
/// A 32-bit register of a <see cref="RegisterBlock"/>, declared like a row of a spec's register table:
/// <c>block.Define(0x14, name: "CC").WithFlag(0, FieldMode.ReadWrite, "EN").WithReservedBits(1, 3)</c>.
/// </summary>
/// <remarks>
/// <para>
/// Guest accesses obey the fields' <see cref="FieldMode"/>s. Bits no field or reserved run claims read as
/// the current <see cref="Value"/> and ignore guest writes, so a register defined with only a reset value is a
/// read-only constant. Reserved bits read as zero and ignore writes.
/// </para>
/// <para>
/// On a guest write the new value is stored first, then the per-field write callbacks run in ascending bit
/// order (only for fields inside the written byte lanes), then the register's <see cref="OnWrite"/> callback.
/// On a guest read the <see cref="OnRead"/> callback may replace the value, then read-to-clear bits in the
/// read byte lanes are cleared.
/// </para>
/// <para>
/// Threading: guest accesses to one register are serialized by the caller (the <see cref="RegisterBlock"/>
/// contract). Device code on another thread may read <see cref="Value"/> at any time.
/// </para>
/// </remarks>
public sealed class Register
{
    private const int Bits = 32;

    private readonly List<RegisterField> _fields = [];
    private FieldMasks _masks;
    private FieldCallback[] _fieldCallbacks = [];
    private Func<uint, uint>? _onRead;
    private Action<uint, uint>? _onWrite;
    private Func<int, uint, uint>? _onIndexedRead;
    private Action<int, uint, uint>? _onIndexedWrite;

    // Stored with Volatile.Write by guest writes and device code, loaded with Volatile.Read, so a device thread
    // that reads a doorbell value also sees everything the writer stored before it (release/acquire pair).
    private uint _value;

    internal Register(uint offset, uint resetValue, string? name, int arrayIndex)
    {
        Offset = offset;
        ResetValue = resetValue;
        Name = name;
        ArrayIndex = arrayIndex;
        _value = resetValue;
    }

    /// <summary>Byte offset of the register in its block.</summary>
    public uint Offset { get; }

    /// <summary>The value <see cref="Reset"/> restores.</summary>
    public uint ResetValue { get; }

    /// <summary>The spec mnemonic, for diagnostics; an array's elements share the array's name.</summary>
    public string? Name { get; }

    /// <summary>Index of the register within its <see cref="RegisterArray"/>, or -1 for a standalone register.</summary>
    public int ArrayIndex { get; }

    /// <summary>The fields declared so far, in declaration order (reserved runs are not listed).</summary>
    public IReadOnlyList<RegisterField> Fields => _fields;

    /// <summary>
    /// The register's raw value, for the device side: reading and setting it bypasses field modes and callbacks.
    /// </summary>
    /// <remarks>Acquire on get, release on set; a read-modify-write through this property is not atomic.</remarks>
    public uint Value
    {
        get => Volatile.Read(ref _value);
        set => Volatile.Write(ref _value, value);
    }

    /// <summary>Declares a field of <paramref name="width"/> bits at bit <paramref name="position"/>.</summary>
    /// <param name="position">Lowest bit of the field, 0–31.</param>
    /// <param name="width">Number of bits, 1 to 32 − <paramref name="position"/>.</param>
    /// <param name="mode">The field's guest behaviour.</param>
    /// <param name="name">Spec mnemonic, for diagnostics.</param>
    /// <param name="writeCallback">Called on each guest write that touches the field's bytes, with the field's old and new value.</param>
    /// <returns>This register, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The field does not fit in 32 bits.</exception>
    /// <exception cref="ArgumentException">The field overlaps another, or <paramref name="mode"/> is invalid.</exception>
    public Register WithField(int position, int width, FieldMode mode, string? name = null, Action<uint, uint>? writeCallback = null)
    {
        AddField(position, width, mode, name, writeCallback);
        return this;
    }

    /// <summary>Declares a field, like <see cref="WithField"/>, and hands out a handle the device uses to read and set it.</summary>
    /// <param name="position">Lowest bit of the field, 0–31.</param>
    /// <param name="width">Number of bits, 1 to 32 − <paramref name="position"/>.</param>
    /// <param name="mode">The field's guest behaviour.</param>
    /// <param name="field">Receives the field's handle.</param>
    /// <param name="name">Spec mnemonic, for diagnostics.</param>
    /// <param name="writeCallback">Called on each guest write that touches the field's bytes, with the field's old and new value.</param>
    /// <returns>This register, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The field does not fit in 32 bits.</exception>
    /// <exception cref="ArgumentException">The field overlaps another, or <paramref name="mode"/> is invalid.</exception>
    public Register WithValueField(
        int position, int width, FieldMode mode, out RegisterField field, string? name = null, Action<uint, uint>? writeCallback = null)
    {
        field = AddField(position, width, mode, name, writeCallback);
        return this;
    }

    /// <summary>Declares a one-bit field.</summary>
    /// <param name="position">The bit, 0–31.</param>
    /// <param name="mode">The flag's guest behaviour.</param>
    /// <param name="name">Spec mnemonic, for diagnostics.</param>
    /// <param name="writeCallback">Called on each guest write that touches the flag's byte, with the old and new state.</param>
    /// <returns>This register, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="position"/> is not 0–31.</exception>
    /// <exception cref="ArgumentException">The flag overlaps another field, or <paramref name="mode"/> is invalid.</exception>
    public Register WithFlag(int position, FieldMode mode, string? name = null, Action<bool, bool>? writeCallback = null)
    {
        AddField(position, 1, mode, name, AdaptFlagCallback(writeCallback));
        return this;
    }

    /// <summary>Declares a one-bit field and hands out a handle the device uses to read and set it.</summary>
    /// <param name="position">The bit, 0–31.</param>
    /// <param name="mode">The flag's guest behaviour.</param>
    /// <param name="flag">Receives the flag's handle.</param>
    /// <param name="name">Spec mnemonic, for diagnostics.</param>
    /// <param name="writeCallback">Called on each guest write that touches the flag's byte, with the old and new state.</param>
    /// <returns>This register, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="position"/> is not 0–31.</exception>
    /// <exception cref="ArgumentException">The flag overlaps another field, or <paramref name="mode"/> is invalid.</exception>
    public Register WithFlag(int position, FieldMode mode, out RegisterField flag, string? name = null, Action<bool, bool>? writeCallback = null)
    {
        flag = AddField(position, 1, mode, name, AdaptFlagCallback(writeCallback));
        return this;
    }

    /// <summary>Declares reserved bits: they read as zero and ignore guest writes.</summary>
    /// <returns>This register, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The run does not fit in 32 bits.</exception>
    /// <exception cref="ArgumentException">The run overlaps a field.</exception>
    public Register WithReservedBits(int position, int width)
    {
        _masks.AddReserved(position, width, Bits, Name);
        return this;
    }

    /// <summary>
    /// Sets the guest-read callback: it receives the value the read would return (readable fields and
    /// undeclared bits) and returns what the guest sees, verbatim.
    /// </summary>
    /// <returns>This register, for chaining.</returns>
    /// <exception cref="InvalidOperationException">A read callback is already set.</exception>
    public Register OnRead(Func<uint, uint> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        EnsureNoReadCallback();
        _onRead = callback;
        return this;
    }

    /// <summary>
    /// Sets the guest-write callback, called after every guest write (even one that changes nothing) with the
    /// register's value before and after the write.
    /// </summary>
    /// <returns>This register, for chaining.</returns>
    /// <exception cref="InvalidOperationException">A write callback is already set.</exception>
    public Register OnWrite(Action<uint, uint> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        EnsureNoWriteCallback();
        _onWrite = callback;
        return this;
    }

    /// <summary>Restores <see cref="ResetValue"/> without calling any callback.</summary>
    public void Reset() => Value = ResetValue;

    internal void SetIndexedCallbacks(Func<int, uint, uint>? onRead, Action<int, uint, uint>? onWrite)
    {
        if (onRead is not null)
        {
            EnsureNoReadCallback();
            _onIndexedRead = onRead;
        }

        if (onWrite is not null)
        {
            EnsureNoWriteCallback();
            _onIndexedWrite = onWrite;
        }
    }

    /// <summary>A guest read of the byte lanes set in <paramref name="lanes"/> (0xFF per byte).</summary>
    internal uint GuestRead(uint lanes)
    {
        uint value = unchecked((uint)_masks.ReadView(Volatile.Read(ref _value)));
        if (_onRead is not null)
        {
            value = _onRead(value);
        }
        else if (_onIndexedRead is not null)
        {
            value = _onIndexedRead(ArrayIndex, value);
        }

        uint clear = unchecked((uint)_masks.ReadToClear) & lanes;
        if (clear != 0)
        {
            Volatile.Write(ref _value, Volatile.Read(ref _value) & ~clear);
        }

        return value;
    }

    /// <summary>A guest write of <paramref name="data"/> to the byte lanes set in <paramref name="lanes"/> (0xFF per byte).</summary>
    internal void GuestWrite(uint data, uint lanes)
    {
        uint old = Volatile.Read(ref _value);
        uint value = unchecked((uint)_masks.ApplyWrite(old, data, lanes));
        Volatile.Write(ref _value, value);

        FieldCallback[] callbacks = _fieldCallbacks;
        for (int i = 0; i < callbacks.Length; i++)
        {
            FieldCallback callback = callbacks[i];
            if ((callback.Mask & lanes) != 0)
            {
                callback.Callback((old & callback.Mask) >> callback.Shift, (value & callback.Mask) >> callback.Shift);
            }
        }

        if (_onWrite is not null)
        {
            _onWrite(old, value);
        }
        else
        {
            _onIndexedWrite?.Invoke(ArrayIndex, old, value);
        }
    }

    private static Action<uint, uint>? AdaptFlagCallback(Action<bool, bool>? callback) =>
        callback is null ? null : (old, now) => callback(old != 0, now != 0);

    private RegisterField AddField(int position, int width, FieldMode mode, string? name, Action<uint, uint>? writeCallback)
    {
        uint mask = unchecked((uint)_masks.Add(position, width, mode, Bits, Name, name));
        RegisterField field = new(this, position, width, mode, name);
        _fields.Add(field);
        if (writeCallback is not null)
        {
            // Keep callbacks in ascending bit order, the documented invocation order.
            FieldCallback[] callbacks = new FieldCallback[_fieldCallbacks.Length + 1];
            int insertAt = 0;
            while (insertAt < _fieldCallbacks.Length && _fieldCallbacks[insertAt].Shift < position)
            {
                insertAt++;
            }

            Array.Copy(_fieldCallbacks, callbacks, insertAt);
            callbacks[insertAt] = new FieldCallback(mask, position, writeCallback);
            Array.Copy(_fieldCallbacks, insertAt, callbacks, insertAt + 1, _fieldCallbacks.Length - insertAt);
            _fieldCallbacks = callbacks;
        }

        return field;
    }

    private void EnsureNoReadCallback()
    {
        if (_onRead is not null || _onIndexedRead is not null)
        {
            ThrowHelper.ThrowCallbackAlreadySet("OnRead", Name);
        }
    }

    private void EnsureNoWriteCallback()
    {
        if (_onWrite is not null || _onIndexedWrite is not null)
        {
            ThrowHelper.ThrowCallbackAlreadySet("OnWrite", Name);
        }
    }
}
