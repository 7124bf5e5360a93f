using System;
using System.Collections.Generic;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace P2pEmu.Emulator.Registers;

/// <summary>
/// A register BAR (or a register range of one): registers are declared like a spec's register table
/// (Renode's <c>RegisterCollection</c>) and guest accesses are dispatched through flat arrays indexed by
/// offset / 4 (Ryujinx's <c>DeviceState</c>), with no lookup, LINQ or allocation per access.
/// </summary>
/// <remarks>
/// <para>
/// Guest access semantics (STYLE R6: never an exception):
/// a 1-, 2- or 4-byte access inside a 32-bit register reads or modifies only its own bytes;
/// an 8-byte access at a <see cref="Register64"/>'s offset is one 64-bit access, any other 8-byte access is
/// split into its 4-byte pieces; unaligned accesses are split per dword with byte lanes;
/// an offset inside the block that no register claims reads 0 and ignores writes;
/// bytes beyond the block read all-ones and ignore writes (PCIe Unsupported Request);
/// an access size other than 1 to 8 bytes reads all-ones and is ignored.
/// </para>
/// <para>
/// Threading: define every register before the block is reachable by the guest. Guest accesses
/// (<see cref="Read"/>/<see cref="Write"/>) to one register must be serialized by the caller (a device model
/// serializes its BAR's accesses with its own processing as it needs; accesses to different registers may run at
/// once, since each register keeps its own state); callbacks run on the accessing thread. Device code may read
/// register values from another thread (see <see cref="Register.Value"/>).
/// </para>
/// </remarks>
public sealed class RegisterBlock : IMmioHandler
{
    /// <summary>Largest block size accepted (64 MiB), far above any register BAR.</summary>
    public const uint MaxSizeBytes = 64u << 20;

    private readonly Register?[] _dwords;
    private readonly Register64?[] _qwords;
    private readonly List<Register> _registers = [];
    private readonly List<Register64> _registers64 = [];

    /// <summary>Creates an empty block of <paramref name="sizeBytes"/>, e.g. 16 KiB for an NVMe BAR0.</summary>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="sizeBytes"/> is zero, not a multiple of 4, or above <see cref="MaxSizeBytes"/>.
    /// </exception>
    public RegisterBlock(uint sizeBytes)
    {
        ArgumentOutOfRangeException.ThrowIfZero(sizeBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sizeBytes, MaxSizeBytes);
        if ((sizeBytes & 3) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(sizeBytes), sizeBytes, "The block size must be a multiple of 4.");
        }

        SizeBytes = sizeBytes;
        _dwords = new Register?[sizeBytes / 4];
        _qwords = new Register64?[sizeBytes / 4];
    }

    /// <summary>Size of the block in bytes; accesses at or above it are unclaimed.</summary>
    public uint SizeBytes { get; }

    /// <summary>Defines a 32-bit register at <paramref name="offset"/>.</summary>
    /// <param name="offset">Byte offset, a multiple of 4 inside the block.</param>
    /// <param name="resetValue">The value at creation and after <see cref="Reset"/>.</param>
    /// <param name="name">Spec mnemonic, for diagnostics.</param>
    /// <returns>The register, to declare its fields and callbacks.</returns>
    /// <exception cref="ArgumentException">The offset is not 4-aligned or is already claimed.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The register does not fit in the block.</exception>
    public Register Define(uint offset, uint resetValue = 0, string? name = null)
    {
        CheckRange(offset, 4, nameof(offset));
        CheckFree(offset, nameof(offset));
        Register register = new(offset, resetValue, name, arrayIndex: -1);
        _dwords[offset / 4] = register;
        _registers.Add(register);
        return register;
    }

    /// <summary>Defines a 32-bit register at the offset an enum member names; the member name is the default name.</summary>
    /// <inheritdoc cref="Define(uint, uint, string?)"/>
    public Register Define<TOffset>(TOffset offset, uint resetValue = 0, string? name = null)
        where TOffset : struct, Enum =>
        Define(ToOffset(offset), resetValue, name ?? offset.ToString());

    /// <summary>Defines a 64-bit register whose low half is at <paramref name="offset"/> and high half at offset + 4.</summary>
    /// <param name="offset">Byte offset, a multiple of 4; both halves inside the block.</param>
    /// <param name="resetValue">The value at creation and after <see cref="Reset"/>.</param>
    /// <param name="name">Spec mnemonic, for diagnostics.</param>
    /// <returns>The register, to declare its fields and callbacks.</returns>
    /// <exception cref="ArgumentException">The offset is not 4-aligned or either half is already claimed.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The register does not fit in the block.</exception>
    public Register64 Define64(uint offset, ulong resetValue = 0, string? name = null)
    {
        CheckRange(offset, 8, nameof(offset));
        CheckFree(offset, nameof(offset));
        CheckFree(offset + 4, nameof(offset));
        Register64 register = new(offset, resetValue, name);
        _qwords[offset / 4] = register;
        _qwords[(offset / 4) + 1] = register;
        _registers64.Add(register);
        return register;
    }

    /// <summary>Defines a 64-bit register at the offset an enum member names; the member name is the default name.</summary>
    /// <inheritdoc cref="Define64(uint, ulong, string?)"/>
    public Register64 Define64<TOffset>(TOffset offset, ulong resetValue = 0, string? name = null)
        where TOffset : struct, Enum =>
        Define64(ToOffset(offset), resetValue, name ?? offset.ToString());

    /// <summary>
    /// Defines <paramref name="count"/> 32-bit registers at <paramref name="offset"/> + i × <paramref name="strideBytes"/>,
    /// e.g. NVMe doorbells. Nothing is defined if any element's offset is invalid or claimed.
    /// </summary>
    /// <param name="offset">Byte offset of element 0, a multiple of 4.</param>
    /// <param name="count">Number of elements, at least 1.</param>
    /// <param name="strideBytes">Distance between elements, a non-zero multiple of 4.</param>
    /// <param name="resetValue">Every element's reset value.</param>
    /// <param name="name">Spec mnemonic shared by the elements, for diagnostics.</param>
    /// <returns>The array, to declare the elements' fields and callbacks.</returns>
    /// <exception cref="ArgumentException">An offset is not 4-aligned or is already claimed, or the stride is not a multiple of 4.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The count or stride is not positive, or the last element does not fit in the block.</exception>
    public RegisterArray DefineArray(uint offset, int count, uint strideBytes, uint resetValue = 0, string? name = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfZero(strideBytes);
        if ((strideBytes & 3) != 0)
        {
            throw new ArgumentException("The stride must be a multiple of 4.", nameof(strideBytes));
        }

        ulong last = offset + ((ulong)(count - 1) * strideBytes);
        if (last + 4 > SizeBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, "The array does not fit in the register block.");
        }

        CheckRange(offset, 4, nameof(offset));
        for (int i = 0; i < count; i++)
        {
            CheckFree(offset + ((uint)i * strideBytes), nameof(offset));
        }

        Register[] registers = new Register[count];
        for (int i = 0; i < count; i++)
        {
            uint elementOffset = offset + ((uint)i * strideBytes);
            Register register = new(elementOffset, resetValue, name, i);
            registers[i] = register;
            _dwords[elementOffset / 4] = register;
            _registers.Add(register);
        }

        return new RegisterArray(offset, strideBytes, registers);
    }

    /// <summary>A guest read of <paramref name="sizeBytes"/> bytes at <paramref name="offset"/>; never throws.</summary>
    /// <returns>The bytes read, little-endian, in the low <paramref name="sizeBytes"/> bytes.</returns>
    public ulong Read(ulong offset, int sizeBytes)
    {
        if (sizeBytes == 4 && (offset & 3) == 0 && offset < SizeBytes)
        {
            return ReadDword((int)(offset / 4), uint.MaxValue);
        }

        return ReadSlow(offset, sizeBytes);
    }

    /// <summary>A guest write of the low <paramref name="sizeBytes"/> bytes of <paramref name="value"/> at <paramref name="offset"/>; never throws.</summary>
    public void Write(ulong offset, int sizeBytes, ulong value)
    {
        if (sizeBytes == 4 && (offset & 3) == 0 && offset < SizeBytes)
        {
            WriteDword((int)(offset / 4), unchecked((uint)value), uint.MaxValue);
            return;
        }

        WriteSlow(offset, sizeBytes, value);
    }

    /// <summary>Resets every register to its reset value without calling callbacks.</summary>
    public void Reset()
    {
        foreach (Register register in _registers)
        {
            register.Reset();
        }

        foreach (Register64 register in _registers64)
        {
            register.Reset();
        }
    }

    private static uint ToOffset<TOffset>(TOffset offset)
        where TOffset : struct, Enum =>
        Convert.ToUInt32(offset, CultureInfo.InvariantCulture);

    /// <summary>Byte-lane mask of <paramref name="count"/> bytes starting at byte <paramref name="lane"/> of a dword.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint LaneBits(int lane, int count) =>
        count == 4 ? uint.MaxValue : ((1u << (count * 8)) - 1) << (lane * 8);

    private static ulong AllOnes(int sizeBytes) =>
        sizeBytes is > 0 and < 8 ? (1UL << (sizeBytes * 8)) - 1 : ulong.MaxValue;

    private ulong ReadSlow(ulong offset, int sizeBytes)
    {
        // Unclaimed, or a size no PCIe access has: Unsupported Request reads all-ones.
        if (offset >= SizeBytes || sizeBytes is < 1 or > 8)
        {
            return AllOnes(sizeBytes);
        }

        if (sizeBytes == 8 && TryGetRegister64At(offset, out Register64? register64))
        {
            return register64.GuestRead(ulong.MaxValue);
        }

        // offset < SizeBytes <= 64 MiB, so offset + 8 cannot wrap.
        ulong result = 0;
        for (int done = 0; done < sizeBytes;)
        {
            ulong address = offset + (ulong)done;
            int lane = (int)(address & 3);
            int count = Math.Min(4 - lane, sizeBytes - done);
            uint lanes = LaneBits(lane, count);
            uint dword = address < SizeBytes ? ReadDword((int)(address / 4), lanes) : uint.MaxValue;
            result |= (ulong)((dword & lanes) >> (lane * 8)) << (done * 8);
            done += count;
        }

        return result;
    }

    private void WriteSlow(ulong offset, int sizeBytes, ulong value)
    {
        if (offset >= SizeBytes || sizeBytes is < 1 or > 8)
        {
            return;
        }

        if (sizeBytes == 8 && TryGetRegister64At(offset, out Register64? register64))
        {
            register64.GuestWrite(value, ulong.MaxValue);
            return;
        }

        for (int done = 0; done < sizeBytes;)
        {
            ulong address = offset + (ulong)done;
            int lane = (int)(address & 3);
            int count = Math.Min(4 - lane, sizeBytes - done);
            if (address < SizeBytes)
            {
                // Deliberate truncation: this piece's bytes of the value, moved to their lanes.
                uint data = unchecked((uint)(value >> (done * 8)) << (lane * 8));
                WriteDword((int)(address / 4), data, LaneBits(lane, count));
            }

            done += count;
        }
    }

    private bool TryGetRegister64At(ulong offset, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Register64? register)
    {
        register = _qwords[(int)(offset / 4)];
        return register is not null && register.Offset == offset;
    }

    private uint ReadDword(int index, uint lanes)
    {
        Register? register = _dwords[index];
        if (register is not null)
        {
            return register.GuestRead(lanes);
        }

        Register64? register64 = _qwords[index];
        if (register64 is not null)
        {
            int shift = (index - (int)(register64.Offset / 4)) * 32;
            return unchecked((uint)(register64.GuestRead((ulong)lanes << shift) >> shift));
        }

        // Inside the block but unclaimed: reserved space reads zero.
        return 0;
    }

    private void WriteDword(int index, uint data, uint lanes)
    {
        Register? register = _dwords[index];
        if (register is not null)
        {
            register.GuestWrite(data, lanes);
            return;
        }

        Register64? register64 = _qwords[index];
        if (register64 is not null)
        {
            int shift = (index - (int)(register64.Offset / 4)) * 32;
            register64.GuestWrite((ulong)data << shift, (ulong)lanes << shift);
        }
    }

    private void CheckRange(uint offset, uint widthBytes, string paramName)
    {
        if ((offset & 3) != 0)
        {
            ThrowHelper.ThrowRegisterMisaligned(offset, paramName);
        }

        if ((ulong)offset + widthBytes > SizeBytes)
        {
            throw new ArgumentOutOfRangeException(paramName, offset, "The register does not fit in the register block.");
        }
    }

    private void CheckFree(uint offset, string paramName)
    {
        if (_dwords[offset / 4] is not null || _qwords[offset / 4] is not null)
        {
            ThrowHelper.ThrowRegisterOverlap(offset, paramName);
        }
    }
}
