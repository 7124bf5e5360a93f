using System;

namespace P2pEmu.Emulator.Devices.Accel;

/// <summary>The <see cref="AccelDescriptor.Flags"/> bits. Every bit but bit 0 is reserved: a descriptor with one set is invalid.</summary>
[Flags]
public enum AccelDescriptorOptions : uint
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary>Raise MSI-X vector 0 once the batch this descriptor is in has been processed.</summary>
    InterruptOnCompletion = 1u << 0,
}
