using System;
using System.Buffers.Binary;

namespace P2pEmu.Emulator.Pci;

/// <summary>
/// A function's 4 KiB PCI Express configuration space, byte accurate. Each byte has a write mask (bits
/// software may change) and a write-one-to-clear mask; the BAR sizing protocol falls out of the masks:
/// writing all-ones to a BAR leaves only its writable address bits set, so it reads back the size mask.
/// </summary>
/// <remarks>
/// Guest (software) accesses go through <see cref="Read32"/>/<see cref="Write32"/> and friends and obey
/// the masks; the device model sets read-only and hardware-owned fields through the <c>Set…</c> methods.
/// Accesses are little-endian and must not cross the end of the space; misaligned guest accesses are
/// allowed byte by byte, as Linux's config accessors may issue them.
/// </remarks>
public sealed class ConfigSpace
{
    /// <summary>Size of a PCI Express function's configuration space.</summary>
    public const int Size = 4096;

    private readonly byte[] _data = new byte[Size];
    private readonly byte[] _writeMask = new byte[Size];
    private readonly byte[] _clearMask = new byte[Size];

    /// <summary>Raised after a guest write changed bytes; arguments are the offset and length written.</summary>
    public event Action<int, int>? Written;

    /// <summary>The raw bytes, for dumps and decoders. Never write through it.</summary>
    public ReadOnlySpan<byte> Bytes => _data;

    public byte Read8(int offset)
    {
        CheckRange(offset, 1);
        return _data[offset];
    }

    public ushort Read16(int offset)
    {
        CheckRange(offset, 2);
        return BinaryPrimitives.ReadUInt16LittleEndian(_data.AsSpan(offset));
    }

    public uint Read32(int offset)
    {
        CheckRange(offset, 4);
        return BinaryPrimitives.ReadUInt32LittleEndian(_data.AsSpan(offset));
    }

    public void Write8(int offset, byte value) => Write(offset, 1, value);

    public void Write16(int offset, ushort value) => Write(offset, 2, value);

    public void Write32(int offset, uint value) => Write(offset, 4, value);

    /// <summary>Sets bytes as hardware: ignores the write masks and raises no event.</summary>
    public void Set8(int offset, byte value)
    {
        CheckRange(offset, 1);
        _data[offset] = value;
    }

    public void Set16(int offset, ushort value)
    {
        CheckRange(offset, 2);
        BinaryPrimitives.WriteUInt16LittleEndian(_data.AsSpan(offset), value);
    }

    public void Set32(int offset, uint value)
    {
        CheckRange(offset, 4);
        BinaryPrimitives.WriteUInt32LittleEndian(_data.AsSpan(offset), value);
    }

    /// <summary>Declares which bits of a little-endian field of <paramref name="length"/> bytes software may write.</summary>
    public void SetWritable(int offset, int length, ulong mask) => SetMask(_writeMask, offset, length, mask);

    /// <summary>Declares write-one-to-clear bits (status registers).</summary>
    public void SetWriteOneToClear(int offset, int length, ulong mask) => SetMask(_clearMask, offset, length, mask);

    /// <summary>Copies a whole space in, as a dump reader does; masks are left as they are.</summary>
    public void Load(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > Size)
        {
            throw new ArgumentException($"A configuration space holds at most {Size} bytes.", nameof(bytes));
        }

        bytes.CopyTo(_data);
    }

    private void Write(int offset, int length, uint value)
    {
        CheckRange(offset, length);
        bool changed = false;
        for (int i = 0; i < length; i++)
        {
            int at = offset + i;
            byte incoming = unchecked((byte)(value >> (8 * i)));
            byte old = _data[at];
            byte written = (byte)((old & ~_writeMask[at] & 0xFF) | (incoming & _writeMask[at]));
            byte cleared = (byte)(old & ~(incoming & _clearMask[at]) & 0xFF);
            byte next = (byte)((written & ~_clearMask[at] & 0xFF) | (cleared & _clearMask[at]));
            if (next != old)
            {
                _data[at] = next;
                changed = true;
            }
        }

        if (changed || Written is not null)
        {
            Written?.Invoke(offset, length);
        }
    }

    private static void SetMask(byte[] target, int offset, int length, ulong mask)
    {
        CheckRange(offset, length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, 8);
        for (int i = 0; i < length; i++)
        {
            target[offset + i] = unchecked((byte)(mask >> (8 * i)));
        }
    }

    private static void CheckRange(int offset, int length)
    {
        if (unchecked((uint)offset) > Size - (uint)length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"Configuration access of {length} bytes at 0x{offset:x} is outside the 4 KiB space.");
        }
    }
}
