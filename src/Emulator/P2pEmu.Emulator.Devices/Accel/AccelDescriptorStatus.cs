namespace P2pEmu.Emulator.Devices.Accel;

/// <summary>What the copy engine writes back into <see cref="AccelDescriptor.Status"/>.</summary>
public enum AccelDescriptorStatus : uint
{
    /// <summary>Not processed yet: the host writes 0 before it rings the tail doorbell.</summary>
    Pending = 0,

    /// <summary>Every byte was copied.</summary>
    Done = 1,

    /// <summary>A reserved flag was set: nothing was copied.</summary>
    InvalidDescriptor = 0x10,

    /// <summary>A read of the source failed (unsupported request, IOMMU fault, ACS block): the bytes before it were copied.</summary>
    DmaReadFault = 0x11,

    /// <summary>A write to the destination failed: the bytes before it were copied, nothing at or after it was written.</summary>
    DmaWriteFault = 0x12,
}
