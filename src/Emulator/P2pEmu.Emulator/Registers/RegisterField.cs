using System;

namespace P2pEmu.Emulator.Registers;

/// <summary>
/// A handle on one field of a 32-bit <see cref="Register"/>, handed out at definition time so device code
/// reads and sets the field by name instead of by bit math (Renode's <c>IValueRegisterField</c>).
/// </summary>
/// <remarks>
/// <see cref="Value"/> is device-side access: it bypasses the field's <see cref="FieldMode"/> and callbacks.
/// Setting it is a read-modify-write of the register and must not race with a guest write to the same register.
/// </remarks>
public sealed class RegisterField
{
    private readonly uint _mask;

    internal RegisterField(Register register, int position, int width, FieldMode mode, string? name)
    {
        Register = register;
        Position = position;
        Width = width;
        Mode = mode;
        Name = name;
        _mask = unchecked((uint)FieldMasks.Mask(position, width));
    }

    /// <summary>The register that holds the field.</summary>
    public Register Register { get; }

    /// <summary>Lowest bit of the field.</summary>
    public int Position { get; }

    /// <summary>Number of bits.</summary>
    public int Width { get; }

    /// <summary>The field's guest behaviour.</summary>
    public FieldMode Mode { get; }

    /// <summary>The spec mnemonic, for diagnostics.</summary>
    public string? Name { get; }

    /// <summary>The field's value, shifted down to bit 0.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value set does not fit in <see cref="Width"/> bits.</exception>
    public uint Value
    {
        get => (Register.Value & _mask) >> Position;
        set
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, _mask >> Position);
            Register.Value = (Register.Value & ~_mask) | (value << Position);
        }
    }

    /// <summary>The field as a flag: non-zero is set. Setting <see langword="true"/> writes 1.</summary>
    public bool IsSet
    {
        get => Value != 0;
        set => Value = value ? 1u : 0u;
    }
}
