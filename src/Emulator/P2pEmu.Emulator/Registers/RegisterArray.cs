using System;

namespace P2pEmu.Emulator.Registers;

/// <summary>
/// A run of identical 32-bit registers at a fixed stride, such as NVMe's doorbells
/// (<c>SQyTDBL</c>/<c>CQyHDBL</c> at 1000h + (2y [+1]) × (4 &lt;&lt; CAP.DSTRD)). Field declarations apply to every
/// element; callbacks receive the element's index, so one delegate serves all queues.
/// </summary>
public sealed class RegisterArray
{
    private readonly Register[] _registers;

    internal RegisterArray(uint offset, uint strideBytes, Register[] registers)
    {
        Offset = offset;
        StrideBytes = strideBytes;
        _registers = registers;
    }

    /// <summary>Byte offset of element 0 in the block.</summary>
    public uint Offset { get; }

    /// <summary>Distance in bytes between consecutive elements.</summary>
    public uint StrideBytes { get; }

    /// <summary>Number of elements.</summary>
    public int Count => _registers.Length;

    /// <summary>Element <paramref name="index"/>, at <see cref="Offset"/> + index × <see cref="StrideBytes"/>.</summary>
    /// <exception cref="IndexOutOfRangeException"><paramref name="index"/> is not in [0, <see cref="Count"/>).</exception>
    public Register this[int index] => _registers[index];

    /// <summary>Declares a field on every element; see <see cref="Register.WithField"/>.</summary>
    /// <returns>This array, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The field does not fit in 32 bits.</exception>
    /// <exception cref="ArgumentException">The field overlaps another, or <paramref name="mode"/> is invalid.</exception>
    public RegisterArray WithField(int position, int width, FieldMode mode, string? name = null)
    {
        foreach (Register register in _registers)
        {
            register.WithField(position, width, mode, name);
        }

        return this;
    }

    /// <summary>Declares a one-bit field on every element.</summary>
    /// <returns>This array, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="position"/> is not 0–31.</exception>
    /// <exception cref="ArgumentException">The flag overlaps another field, or <paramref name="mode"/> is invalid.</exception>
    public RegisterArray WithFlag(int position, FieldMode mode, string? name = null) => WithField(position, 1, mode, name);

    /// <summary>Declares reserved bits on every element: they read as zero and ignore guest writes.</summary>
    /// <returns>This array, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The run does not fit in 32 bits.</exception>
    /// <exception cref="ArgumentException">The run overlaps a field.</exception>
    public RegisterArray WithReservedBits(int position, int width)
    {
        foreach (Register register in _registers)
        {
            register.WithReservedBits(position, width);
        }

        return this;
    }

    /// <summary>Sets the guest-read callback of every element: (index, value the read would return) → value the guest sees.</summary>
    /// <returns>This array, for chaining.</returns>
    /// <exception cref="InvalidOperationException">An element already has a read callback.</exception>
    public RegisterArray OnRead(Func<int, uint, uint> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        foreach (Register register in _registers)
        {
            register.SetIndexedCallbacks(callback, onWrite: null);
        }

        return this;
    }

    /// <summary>Sets the guest-write callback of every element: (index, old value, new value), after every guest write.</summary>
    /// <returns>This array, for chaining.</returns>
    /// <exception cref="InvalidOperationException">An element already has a write callback.</exception>
    public RegisterArray OnWrite(Action<int, uint, uint> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        foreach (Register register in _registers)
        {
            register.SetIndexedCallbacks(onRead: null, callback);
        }

        return this;
    }

    /// <summary>Resets every element without calling callbacks.</summary>
    public void Reset()
    {
        foreach (Register register in _registers)
        {
            register.Reset();
        }
    }
}
