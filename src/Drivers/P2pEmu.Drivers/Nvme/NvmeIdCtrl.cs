using System;
using System.Buffers.Binary;
using System.Text;

namespace P2pEmu.Drivers.Nvme;

/// <summary>
/// The fields of the Identify Controller data structure (CNS 01h; Linux <c>struct nvme_id_ctrl</c>) the driver
/// uses, parsed from the 4 KiB the controller returned.
/// </summary>
public sealed record NvmeIdCtrl
{
    /// <summary>Size of every Identify data structure.</summary>
    public const int SizeBytes = 4096;

    public ushort Vid { get; init; }

    /// <summary>SN, trailing spaces removed.</summary>
    public string SerialNumber { get; init; } = string.Empty;

    /// <summary>MN, trailing spaces removed.</summary>
    public string ModelNumber { get; init; } = string.Empty;

    /// <summary>FR, trailing spaces removed.</summary>
    public string FirmwareRevision { get; init; } = string.Empty;

    /// <summary>MDTS: the largest transfer is 2^MDTS minimum memory pages; 0 means no limit.</summary>
    public byte Mdts { get; init; }

    public ushort Cntlid { get; init; }

    /// <summary>VER.</summary>
    public uint Ver { get; init; }

    /// <summary>SQES: required (3:0) and maximum (7:4) SQ entry size, log2.</summary>
    public byte Sqes { get; init; }

    /// <summary>CQES: required (3:0) and maximum (7:4) CQ entry size, log2.</summary>
    public byte Cqes { get; init; }

    /// <summary>NN: the highest namespace ID.</summary>
    public uint Nn { get; init; }

    /// <summary>ONCS: optional NVM commands (bit 2 Dataset Management, bit 3 Write Zeroes).</summary>
    public ushort Oncs { get; init; }

    /// <summary>SGLS: SGL support (0: PRPs only).</summary>
    public uint Sgls { get; init; }

    /// <summary>Parses the data structure (offsets per NVMe base spec 2.0, "Identify Controller Data Structure").</summary>
    /// <exception cref="ArgumentException">Fewer than <see cref="SizeBytes"/> bytes.</exception>
    public static NvmeIdCtrl Parse(ReadOnlySpan<byte> data)
    {
        if (data.Length < SizeBytes)
        {
            throw new ArgumentException($"Identify data is {SizeBytes} bytes.", nameof(data));
        }

        return new NvmeIdCtrl
        {
            Vid = BinaryPrimitives.ReadUInt16LittleEndian(data),
            SerialNumber = Ascii(data.Slice(4, 20)),
            ModelNumber = Ascii(data.Slice(24, 40)),
            FirmwareRevision = Ascii(data.Slice(64, 8)),
            Mdts = data[77],
            Cntlid = BinaryPrimitives.ReadUInt16LittleEndian(data[78..]),
            Ver = BinaryPrimitives.ReadUInt32LittleEndian(data[80..]),
            Sqes = data[512],
            Cqes = data[513],
            Nn = BinaryPrimitives.ReadUInt32LittleEndian(data[516..]),
            Oncs = BinaryPrimitives.ReadUInt16LittleEndian(data[520..]),
            Sgls = BinaryPrimitives.ReadUInt32LittleEndian(data[536..]),
        };
    }

    private static string Ascii(ReadOnlySpan<byte> field) => Encoding.ASCII.GetString(field).TrimEnd(' ', '\0');
}
