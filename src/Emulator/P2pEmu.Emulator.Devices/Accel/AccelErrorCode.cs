namespace P2pEmu.Emulator.Devices.Accel;

/// <summary>The <see cref="AccelRegister.ErrCode"/> values: a descriptor's failure status, or an engine failure.</summary>
public enum AccelErrorCode : uint
{
    /// <summary>No error since reset.</summary>
    None = 0,

    /// <summary>A descriptor had a reserved flag set (<see cref="AccelDescriptorStatus.InvalidDescriptor"/>).</summary>
    InvalidDescriptor = 0x10,

    /// <summary>A copy's source read failed (<see cref="AccelDescriptorStatus.DmaReadFault"/>).</summary>
    DmaReadFault = 0x11,

    /// <summary>A copy's destination write failed (<see cref="AccelDescriptorStatus.DmaWriteFault"/>).</summary>
    DmaWriteFault = 0x12,

    /// <summary>EN was set with RING_SIZE not a power of two from 2 to 4096 (STATUS.FATAL).</summary>
    InvalidRing = 0x20,

    /// <summary>Reading a descriptor from the ring failed (STATUS.FATAL): nothing is known of it, nothing is written back.</summary>
    DescriptorFetchFault = 0x21,

    /// <summary>Writing a descriptor's status back failed (STATUS.FATAL); its copy was made.</summary>
    WriteBackFault = 0x22,
}
