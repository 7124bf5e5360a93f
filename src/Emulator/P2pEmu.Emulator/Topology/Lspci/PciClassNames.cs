using System.Globalization;

namespace P2pEmu.Emulator.Topology.Lspci;

/// <summary>
/// Class names as lspci prints them on a function's header line (the class section of pci.ids), for the
/// classes an emulated or common real machine has; anything else falls back as lspci does.
/// </summary>
internal static class PciClassNames
{
    /// <summary>The name of a class (base class in bits 15:8, sub-class in bits 7:0).</summary>
    public static string Of(int baseAndSubClass) => baseAndSubClass switch
    {
        0x0000 => "Non-VGA unclassified device",
        0x0001 => "VGA compatible unclassified device",
        0x0100 => "SCSI storage controller",
        0x0101 => "IDE interface",
        0x0104 => "RAID bus controller",
        0x0105 => "ATA controller",
        0x0106 => "SATA controller",
        0x0107 => "Serial Attached SCSI controller",
        0x0108 => "Non-Volatile memory controller",
        0x0109 => "Universal Flash Storage controller",
        0x0200 => "Ethernet controller",
        0x0207 => "Infiniband controller",
        0x0208 => "Fabric controller",
        0x0300 => "VGA compatible controller",
        0x0302 => "3D controller",
        0x0403 => "Audio device",
        0x0500 => "RAM memory",
        0x0502 => "CXL",
        0x0600 => "Host bridge",
        0x0601 => "ISA bridge",
        0x0604 => "PCI bridge",
        0x0607 => "CardBus bridge",
        0x0609 => "Semi-transparent PCI-to-PCI bridge",
        0x0806 => "IOMMU",
        0x0880 => "System peripheral",
        0x0b40 => "Co-processor",
        0x0c03 => "USB controller",
        0x0c05 => "SMBus",
        0x1200 => "Processing accelerators",
        _ => BaseClassName(baseAndSubClass >> 8) ?? string.Create(CultureInfo.InvariantCulture, $"Class {baseAndSubClass:x4}"),
    };

    private static string? BaseClassName(int baseClass) => baseClass switch
    {
        0x00 => "Unclassified device",
        0x01 => "Mass storage controller",
        0x02 => "Network controller",
        0x03 => "Display controller",
        0x04 => "Multimedia controller",
        0x05 => "Memory controller",
        0x06 => "Bridge",
        0x07 => "Communication controller",
        0x08 => "Generic system peripheral",
        0x09 => "Input device controller",
        0x0a => "Docking station",
        0x0b => "Processor",
        0x0c => "Serial bus controller",
        0x0d => "Wireless controller",
        0x0e => "Intelligent controller",
        0x0f => "Satellite communications controller",
        0x10 => "Encryption controller",
        0x11 => "Signal processing controller",
        0x12 => "Processing accelerators",
        0x13 => "Non-Essential Instrumentation",
        0x40 => "Coprocessor",
        0xff => "Unassigned class",
        _ => null,
    };
}
