using System;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Emulator.Tests.Topology.Lspci;

/// <summary>Builds small dump texts by hand: configuration headers and lspci-style blocks.</summary>
internal static class DumpText
{
    /// <summary>A 256-byte type 0 header with a PCI Express capability at 0x40 of <paramref name="portType"/>.</summary>
    public static byte[] Endpoint(ushort vendorId, ushort deviceId, uint classCode, PciExpressPortType portType = PciExpressPortType.Endpoint)
    {
        byte[] config = Header(vendorId, deviceId, classCode, PciConfig.HeaderTypeNormal);
        AddExpress(config, portType);
        return config;
    }

    /// <summary>A 256-byte type 1 header with bus numbers and, unless null, a PCI Express capability.</summary>
    public static byte[] Bridge(int primary, int secondary, int subordinate, PciExpressPortType? portType)
    {
        byte[] config = Header(0x8086, 0x1901, 0x060400, PciConfig.HeaderTypeBridge);
        config[PciConfig.PrimaryBus] = (byte)primary;
        config[PciConfig.SecondaryBus] = (byte)secondary;
        config[PciConfig.SubordinateBus] = (byte)subordinate;
        if (portType is PciExpressPortType type)
        {
            AddExpress(config, type);
        }

        return config;
    }

    /// <summary>A block: the header line, then <paramref name="lengthBytes"/> bytes of <paramref name="config"/> in 16-byte rows.</summary>
    public static string Block(string address, byte[] config, int lengthBytes = 256)
    {
        var text = new StringBuilder();
        text.Append(address).Append(" Class 0000: Device 0000:0000\n");
        for (int row = 0; row < lengthBytes; row += 16)
        {
            text.Append(row.ToString("x2", CultureInfo.InvariantCulture)).Append(':');
            for (int i = row; i < row + 16; i++)
            {
                text.Append(' ').Append(config[i].ToString("x2", CultureInfo.InvariantCulture));
            }

            text.Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Blocks separated by blank lines, as lspci prints them.</summary>
    public static string Join(params string[] blocks) => string.Join("\n", blocks);

    private static byte[] Header(ushort vendorId, ushort deviceId, uint classCode, byte headerType)
    {
        byte[] config = new byte[ConfigSpace.Size];
        BinaryPrimitives.WriteUInt16LittleEndian(config.AsSpan(PciConfig.VendorId), vendorId);
        BinaryPrimitives.WriteUInt16LittleEndian(config.AsSpan(PciConfig.DeviceId), deviceId);
        config[PciConfig.ClassProg] = unchecked((byte)classCode);
        BinaryPrimitives.WriteUInt16LittleEndian(config.AsSpan(PciConfig.ClassDevice), (ushort)(classCode >> 8));
        config[PciConfig.HeaderType] = headerType;
        return config;
    }

    private static void AddExpress(byte[] config, PciExpressPortType portType)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(config.AsSpan(PciConfig.Status), PciConfig.StatusCapList);
        config[PciConfig.CapabilityList] = 0x40;
        config[0x40] = PciConfig.CapIdExpress;
        BinaryPrimitives.WriteUInt16LittleEndian(config.AsSpan(0x40 + PciExpressConfig.Flags), (ushort)(PciExpressConfig.FlagsVersion2 | ((int)portType << 4)));
    }
}
