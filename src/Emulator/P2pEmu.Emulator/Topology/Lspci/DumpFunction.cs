using System.Globalization;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Emulator.Topology.Lspci;

/// <summary>One function block of an lspci dump: its address, where it was, and the bytes dumped.</summary>
/// <remarks>
/// Bytes beyond <see cref="LengthBytes"/> read as zero, so a 256-byte (<c>-xxx</c>) block has an empty
/// extended capability list and a 64-byte (<c>-x</c>) block has no capabilities past the header.
/// </remarks>
internal sealed class DumpFunction
{
    public DumpFunction(int domain, int bus, int device, int function, string location)
    {
        Domain = domain;
        Bus = bus;
        Device = device;
        Function = function;
        Location = location;
    }

    public int Domain { get; }

    public int Bus { get; }

    public int Device { get; }

    public int Function { get; }

    /// <summary>"&lt;source&gt;:line N" of the block's header line.</summary>
    public string Location { get; }

    public ConfigSpace Config { get; } = new();

    public int LengthBytes { get; set; }

    public int DevFn => (Device << 3) | Function;

    /// <summary>The PCIe routing ID (bus in bits 15:8, device/function in bits 7:0).</summary>
    public int RoutingId => (Bus << 8) | DevFn;

    public PciSlot Slot => new(Device, Function);

    public string Address => string.Create(CultureInfo.InvariantCulture, $"{Domain:x4}:{Bus:x2}:{Device:x2}.{Function:x1}");

    public ushort VendorId => Config.Read16(PciConfig.VendorId);

    public ushort DeviceId => Config.Read16(PciConfig.DeviceId);

    /// <summary>Class code as 24 bits: base class, sub-class, programming interface.</summary>
    public uint ClassCode => Config.Read8(PciConfig.ClassProg) | ((uint)Config.Read16(PciConfig.ClassDevice) << 8);

    /// <summary>Header layout without the multi-function bit: 0 normal, 1 PCI-to-PCI bridge, 2 CardBus bridge.</summary>
    public int HeaderLayout => Config.Read8(PciConfig.HeaderType) & 0x7F;

    public bool IsBridge => HeaderLayout == PciConfig.HeaderTypeBridge;

    public int SecondaryBus => Config.Read8(PciConfig.SecondaryBus);

    public int SubordinateBus => Config.Read8(PciConfig.SubordinateBus);

    /// <summary>The PCI Express Device/Port Type; null when the function has no PCI Express capability in the dump.</summary>
    public PciExpressPortType? PortType
    {
        get
        {
            int express = CapabilityLayout.Find(Config, PciConfig.CapIdExpress);
            return express == 0 ? null : (PciExpressPortType)((Config.Read16(express + PciExpressConfig.Flags) >> 4) & 0xF);
        }
    }

    /// <summary>A VF's PF, once <see cref="LspciDumpReader"/> matched it against a PF's SR-IOV routing IDs.</summary>
    public DumpFunction? PhysicalFunction { get; set; }

    /// <summary>Number of VFs of this PF found in the dump.</summary>
    public int VfCount { get; set; }
}
