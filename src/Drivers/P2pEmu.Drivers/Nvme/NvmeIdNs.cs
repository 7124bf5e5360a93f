using System;
using System.Buffers.Binary;

namespace P2pEmu.Drivers.Nvme;

/// <summary>
/// The fields of the Identify Namespace data structure (CNS 00h; Linux <c>struct nvme_id_ns</c>) the driver uses:
/// sizes and the LBA format in use.
/// </summary>
public sealed record NvmeIdNs
{
    /// <summary>NSZE: the size in logical blocks.</summary>
    public ulong Nsze { get; init; }

    /// <summary>NCAP.</summary>
    public ulong Ncap { get; init; }

    /// <summary>NUSE.</summary>
    public ulong Nuse { get; init; }

    /// <summary>NLBAF: the number of LBA formats, 0-based.</summary>
    public byte Nlbaf { get; init; }

    /// <summary>FLBAS: the format in use (bits 3:0, with 6:5 for formats above 15).</summary>
    public byte Flbas { get; init; }

    /// <summary>LBADS of the format in use: log2 of the logical block size.</summary>
    public byte LbaDataShift { get; init; }

    /// <summary>MS of the format in use: metadata bytes per block.</summary>
    public ushort MetadataSize { get; init; }

    /// <summary>Parses the data structure (offsets per NVMe NVM command set spec 1.0, "Identify Namespace").</summary>
    /// <exception cref="ArgumentException">Fewer than 4096 bytes.</exception>
    public static NvmeIdNs Parse(ReadOnlySpan<byte> data)
    {
        if (data.Length < NvmeIdCtrl.SizeBytes)
        {
            throw new ArgumentException($"Identify data is {NvmeIdCtrl.SizeBytes} bytes.", nameof(data));
        }

        byte flbas = data[26];
        int format = (flbas & 0xF) | ((flbas >> 5 & 3) << 4);
        ReadOnlySpan<byte> lbaf = data.Slice(128 + (4 * format), 4);
        return new NvmeIdNs
        {
            Nsze = BinaryPrimitives.ReadUInt64LittleEndian(data),
            Ncap = BinaryPrimitives.ReadUInt64LittleEndian(data[8..]),
            Nuse = BinaryPrimitives.ReadUInt64LittleEndian(data[16..]),
            Nlbaf = data[25],
            Flbas = flbas,
            MetadataSize = BinaryPrimitives.ReadUInt16LittleEndian(lbaf),
            LbaDataShift = lbaf[2],
        };
    }
}
