namespace P2pEmu.Emulator.Devices.Accel;

/// <summary>Register offsets in the accelerator's BAR0 (docs/accelerator.md, "Register map"). All registers are 32-bit unless noted.</summary>
public enum AccelRegister : uint
{
    /// <summary>Identification, read-only: <see cref="AccelDevice.IdValue"/> ("ACEL").</summary>
    Id = 0x000,

    /// <summary>Version, read-only: major in bits 31:16, minor in 15:0.</summary>
    Version = 0x004,

    /// <summary>Capabilities, read-only: bits 4:0 log2 of the largest ring, bits 15:8 MSI-X vectors.</summary>
    Cap = 0x008,

    /// <summary>Device memory (BAR1) size in bytes, 64-bit read-only.</summary>
    MemSize = 0x010,

    /// <summary>Control: bit 0 EN (copy engine enable), bit 1 RST (write 1 to reset; reads 0).</summary>
    Ctrl = 0x020,

    /// <summary>Status, read-only: bit 0 RDY, bit 1 HALT (stopped on a failed descriptor), bit 2 FATAL (ring fetch or write-back failed, or a bad ring at enable).</summary>
    Status = 0x024,

    /// <summary>Error code, read-only: the first error since reset (an <see cref="AccelErrorCode"/>), 0 for none.</summary>
    ErrCode = 0x028,

    /// <summary>Ring index of the descriptor the error belongs to, read-only.</summary>
    ErrIndex = 0x02C,

    /// <summary>The DMA address whose transaction failed (64-bit, read-only); 0 when the error was not a DMA fault.</summary>
    ErrAddr = 0x030,

    /// <summary>Descriptor ring base DMA address (64-bit, read/write while EN is clear; bits 4:0 reserved: 32-byte aligned).</summary>
    RingBase = 0x040,

    /// <summary>Ring size in descriptors (read/write while EN is clear): a power of two from 2 to 4096.</summary>
    RingSize = 0x048,

    /// <summary>Ring head, read-only: the index of the next descriptor the engine processes.</summary>
    RingHead = 0x04C,

    /// <summary>Ring tail doorbell, written by the host: one past the last descriptor it made valid.</summary>
    RingTail = 0x050,

    /// <summary>Interrupt status (write 1 to clear): bit 0 DONE (a batch completed), bit 1 ERR (the engine halted).</summary>
    IntStatus = 0x054,

    /// <summary>Descriptors completed successfully since reset (wraps at 2^32), read-only.</summary>
    Completed = 0x058,
}
