using System;

namespace P2pEmu.Emulator.Registers;

/// <summary>
/// The field layout of one register reduced to bit masks, so a guest access is a handful of AND/OR
/// operations whatever the number of fields. Shared by 32- and 64-bit registers (32-bit ones use the low half).
/// </summary>
internal struct FieldMasks
{
    private const FieldMode WriteModes =
        FieldMode.Write | FieldMode.WriteOneToSet | FieldMode.WriteOneToClear | FieldMode.WriteZeroToClear;

    private const FieldMode AllModes = FieldMode.Read | WriteModes | FieldMode.ReadToClear;

    private ulong _defined;
    private ulong _readable;
    private ulong _write;
    private ulong _writeOneToSet;
    private ulong _writeOneToClear;
    private ulong _writeZeroToClear;
    private ulong _readToClear;

    /// <summary>Bits claimed by a field or reserved; other bits read as the register's value and ignore writes.</summary>
    public readonly ulong Defined => _defined;

    /// <summary>Bits a guest read clears.</summary>
    public readonly ulong ReadToClear => _readToClear;

    public static ulong Mask(int position, int width) =>
        width == 64 ? ulong.MaxValue : ((1UL << width) - 1) << position;

    /// <summary>Adds a field; throws on a bad range, a contradictory mode or an overlap.</summary>
    /// <returns>The field's mask.</returns>
    public ulong Add(int position, int width, FieldMode mode, int registerBits, string? registerName, string? fieldName)
    {
        ulong mask = Claim(position, width, registerBits, registerName, fieldName);
        FieldMode writeMode = mode & WriteModes;
        if ((mode & ~AllModes) != 0 || mode == 0 || (writeMode & (writeMode - 1)) != 0)
        {
            ThrowHelper.ThrowInvalidFieldMode(mode);
        }

        _defined |= mask;
        if ((mode & (FieldMode.Read | FieldMode.ReadToClear)) != 0)
        {
            _readable |= mask;
        }

        if ((mode & FieldMode.ReadToClear) != 0)
        {
            _readToClear |= mask;
        }

        switch (writeMode)
        {
            case FieldMode.Write:
                _write |= mask;
                break;
            case FieldMode.WriteOneToSet:
                _writeOneToSet |= mask;
                break;
            case FieldMode.WriteOneToClear:
                _writeOneToClear |= mask;
                break;
            case FieldMode.WriteZeroToClear:
                _writeZeroToClear |= mask;
                break;
            default:
                break;
        }

        return mask;
    }

    /// <summary>Adds reserved bits: they read as zero and ignore writes.</summary>
    public void AddReserved(int position, int width, int registerBits, string? registerName) =>
        _defined |= Claim(position, width, registerBits, registerName, fieldName: "reserved");

    /// <summary>What a guest read sees before any read callback: readable fields and undeclared bits.</summary>
    public readonly ulong ReadView(ulong value) => value & (_readable | ~_defined);

    /// <summary>The register value after a guest write of <paramref name="data"/> to the byte lanes in <paramref name="lanes"/>.</summary>
    /// <remarks>Bits outside <paramref name="lanes"/> are never changed: a 1-byte write affects only its byte.</remarks>
    public readonly ulong ApplyWrite(ulong old, ulong data, ulong lanes)
    {
        ulong written = data & lanes;
        ulong value = (old & ~(_write & lanes)) | (written & _write);
        value |= written & _writeOneToSet;
        value &= ~(written & _writeOneToClear);
        value &= ~(~data & lanes & _writeZeroToClear);
        return value;
    }

    private readonly ulong Claim(int position, int width, int registerBits, string? registerName, string? fieldName)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(position, registerBits);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(width, registerBits - position, nameof(width));
        ulong mask = Mask(position, width);
        if ((mask & _defined) != 0)
        {
            ThrowHelper.ThrowFieldOverlap(position, width, registerName, fieldName);
        }

        return mask;
    }
}
