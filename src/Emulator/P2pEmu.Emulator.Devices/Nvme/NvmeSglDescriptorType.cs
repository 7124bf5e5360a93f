namespace P2pEmu.Emulator.Devices.Nvme;

/// <summary>SGL Descriptor Type, bits 7:4 of an SGL descriptor's identifier byte (NVMe base spec 2.0, "SGL Descriptor Types").</summary>
public enum NvmeSglDescriptorType : byte
{
    /// <summary>A contiguous data buffer (sub type 0h: the address is a memory address).</summary>
    DataBlock = 0x0,

    /// <summary>Bytes the controller discards on a read instead of transferring them.</summary>
    BitBucket = 0x1,

    /// <summary>Points to the next SGL segment, which is not the last.</summary>
    Segment = 0x2,

    /// <summary>Points to the last SGL segment: it holds no Segment or Last Segment descriptor.</summary>
    LastSegment = 0x3,

    /// <summary>Keyed SGL Data Block (NVMe over Fabrics; not supported here).</summary>
    KeyedDataBlock = 0x4,

    /// <summary>Transport SGL Data Block (NVMe over Fabrics; not supported here).</summary>
    TransportDataBlock = 0x5,

    /// <summary>Vendor specific.</summary>
    VendorSpecific = 0xF,
}
