using System.Runtime.InteropServices;

namespace P2pEmu.Emulator.Devices.Nvme;

/// <summary>
/// A 16-byte SGL descriptor (NVMe base spec 2.0, "Scatter Gather List (SGL)"): bytes 7:0 the address, 11:8 the
/// length, 14:12 reserved, byte 15 the identifier (type in bits 7:4, sub type in 3:0). SGL1, the descriptor in a
/// command, occupies the command's data pointer (bytes 39:24, where the PRP entries are otherwise).
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1, Size = 16)]
public struct NvmeSglDescriptor
{
    /// <summary>Bytes 7:0: the data buffer or next segment (reserved in a Bit Bucket).</summary>
    public ulong Address;

    /// <summary>Bytes 11:8: the data length, or the next segment's length in bytes (16 per descriptor).</summary>
    public uint Length;

    /// <summary>Byte 12, reserved.</summary>
    public byte Reserved12;

    /// <summary>Byte 13, reserved.</summary>
    public byte Reserved13;

    /// <summary>Byte 14, reserved.</summary>
    public byte Reserved14;

    /// <summary>Byte 15: SGL Descriptor Type in bits 7:4, Sub Type in bits 3:0.</summary>
    public byte Identifier;

    /// <summary>The descriptor type (bits 7:4 of the identifier).</summary>
    public readonly NvmeSglDescriptorType Type => (NvmeSglDescriptorType)(Identifier >> 4);

    /// <summary>The descriptor sub type (bits 3:0 of the identifier; 0h: the address is a memory address).</summary>
    public readonly int SubType => Identifier & 0xF;

    /// <summary>The command's data pointer as a PRP entry pair: <see cref="NvmeCommand.Prp1"/> is the address, <see cref="NvmeCommand.Prp2"/> the rest.</summary>
    public readonly (ulong Prp1, ulong Prp2) AsDataPointer =>
        (Address, Length | ((ulong)Reserved12 << 32) | ((ulong)Reserved13 << 40) | ((ulong)Reserved14 << 48) | ((ulong)Identifier << 56));

    /// <summary>A Data Block descriptor (sub type 0h: memory address).</summary>
    public static NvmeSglDescriptor DataBlock(ulong address, uint lengthBytes) => Create(NvmeSglDescriptorType.DataBlock, address, lengthBytes);

    /// <summary>A Bit Bucket descriptor: the read discards <paramref name="lengthBytes"/>.</summary>
    public static NvmeSglDescriptor BitBucket(uint lengthBytes) => Create(NvmeSglDescriptorType.BitBucket, 0, lengthBytes);

    /// <summary>A Segment descriptor: the next segment holds <paramref name="descriptors"/> descriptors at <paramref name="address"/>.</summary>
    public static NvmeSglDescriptor Segment(ulong address, int descriptors) => Create(NvmeSglDescriptorType.Segment, address, checked((uint)descriptors * 16));

    /// <summary>A Last Segment descriptor: the last segment holds <paramref name="descriptors"/> descriptors at <paramref name="address"/>.</summary>
    public static NvmeSglDescriptor LastSegment(ulong address, int descriptors) => Create(NvmeSglDescriptorType.LastSegment, address, checked((uint)descriptors * 16));

    /// <summary>A descriptor with any identifier, e.g. an unsupported type for tests.</summary>
    public static NvmeSglDescriptor Create(NvmeSglDescriptorType type, ulong address, uint lengthBytes, int subType = 0) => new()
    {
        Address = address,
        Length = lengthBytes,
        Identifier = (byte)(((int)type << 4) | (subType & 0xF)),
    };

    /// <summary>SGL1 as it sits in a command's data pointer.</summary>
    public static NvmeSglDescriptor FromDataPointer(ulong prp1, ulong prp2) => new()
    {
        Address = prp1,
        Length = unchecked((uint)prp2),
        Reserved12 = unchecked((byte)(prp2 >> 32)),
        Reserved13 = unchecked((byte)(prp2 >> 40)),
        Reserved14 = unchecked((byte)(prp2 >> 48)),
        Identifier = unchecked((byte)(prp2 >> 56)),
    };
}
