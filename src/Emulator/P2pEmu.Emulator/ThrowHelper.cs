using System;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.CompilerServices;
using P2pEmu.Emulator.Registers;

namespace P2pEmu.Emulator;

/// <summary>
/// Cold throw paths for the emulator core, kept out of line so hot methods stay small and inlinable
/// (the System.IO.Pipelines <c>ThrowHelper</c> pattern). Only host-side misuse throws; guest-caused errors
/// are device behaviour (STYLE R6).
/// </summary>
internal static class ThrowHelper
{
    /// <summary>Throws for a byte range that wraps or ends past the end of a memory region.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowRangeOutsideRegion(ulong offset, ulong length, ulong regionSizeBytes) =>
        throw new ArgumentOutOfRangeException(
            nameof(offset),
            string.Create(
                CultureInfo.InvariantCulture,
                $"The range at offset 0x{offset:x} of 0x{length:x} bytes is outside the region of 0x{regionSizeBytes:x} bytes."));

    /// <summary>Throws because this machine is not little-endian; PCIe and NVMe structures are.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowNotLittleEndian() =>
        throw new PlatformNotSupportedException("P2pEmu requires a little-endian machine.");

    /// <summary>Throws for a register definition whose offset range is already claimed.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowRegisterOverlap(uint offset, string paramName) =>
        throw new ArgumentException(
            string.Create(CultureInfo.InvariantCulture, $"A register is already defined at offset 0x{offset:x}."),
            paramName);

    /// <summary>Throws for a register offset that is not a multiple of 4.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowRegisterMisaligned(uint offset, string paramName) =>
        throw new ArgumentException(
            string.Create(CultureInfo.InvariantCulture, $"Register offset 0x{offset:x} is not 4-byte aligned."),
            paramName);

    /// <summary>Throws for a register field that overlaps a field already defined.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowFieldOverlap(int position, int width, string? registerName, string? fieldName) =>
        throw new ArgumentException(
            string.Create(
                CultureInfo.InvariantCulture,
                $"Field '{fieldName}' [{position + width - 1}:{position}] overlaps another field of register '{registerName}'."),
            nameof(position));

    /// <summary>Throws for a field mode that is empty or combines contradictory write behaviours.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowInvalidFieldMode(FieldMode mode) =>
        throw new ArgumentException(
            string.Create(CultureInfo.InvariantCulture, $"Field mode '{mode}' is empty or has more than one write behaviour."),
            nameof(mode));

    /// <summary>Throws when a register callback of one kind is attached twice.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowCallbackAlreadySet(string kind, string? registerName) =>
        throw new InvalidOperationException(
            string.Create(CultureInfo.InvariantCulture, $"Register '{registerName}' already has an {kind} callback."));
}
