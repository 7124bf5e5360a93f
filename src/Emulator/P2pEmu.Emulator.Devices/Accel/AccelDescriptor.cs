using System.Runtime.InteropServices;

namespace P2pEmu.Emulator.Devices.Accel;

/// <summary>
/// A 32-byte copy-engine descriptor in the ring, little-endian (docs/accelerator.md, "Descriptor"). The host fills the
/// first 24 bytes and zeroes <see cref="Status"/>; the engine writes <see cref="BytesDone"/>, then <see cref="Status"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct AccelDescriptor
{
    /// <summary>Byte offset of <see cref="Status"/>: the engine writes back from here.</summary>
    public const int StatusOffset = 24;

    /// <summary>Byte offset of <see cref="BytesDone"/>.</summary>
    public const int BytesDoneOffset = 28;

    /// <summary>Size of a descriptor in bytes.</summary>
    public const int SizeBytes = 32;

    /// <summary>Source DMA address (a bus address or IOVA, as the device's requests carry it).</summary>
    public ulong Source;

    /// <summary>Destination DMA address.</summary>
    public ulong Destination;

    /// <summary>Bytes to copy; 0 is a valid no-op.</summary>
    public uint Length;

    /// <summary>Flags (<see cref="AccelDescriptorOptions"/>); reserved bits make the descriptor invalid.</summary>
    public uint Flags;

    /// <summary>Written by the device: an <see cref="AccelDescriptorStatus"/>, 0 while pending.</summary>
    public uint Status;

    /// <summary>Written by the device: bytes copied (all of <see cref="Length"/> on success, the prefix before a fault otherwise).</summary>
    public uint BytesDone;
}
