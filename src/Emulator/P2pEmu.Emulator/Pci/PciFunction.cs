using System;
using System.Threading;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Emulator.Pci;

/// <summary>
/// One PCI function with its configuration space. The fabric routes by state decoded from config space
/// (command bits, ACS control, BARs and windows), refreshed on every software write, so what software
/// programs is what the hardware does.
/// </summary>
public abstract class PciFunction
{
    private PciBus? _bus;
    private PciBridge? _upstreamBridge;
    private UpstreamClimb? _upstreamClimb;

    private protected PciFunction(string name, DeviceKind kind, PciExpressPortType portType, string jsonPath)
    {
        Name = name;
        Kind = kind;
        PortType = portType;
        JsonPath = jsonPath;
        Config.Written += OnConfigWritten;

        // After the decoding above, so a router that sees the new generation also sees the new state.
        Config.Written += (_, _) => _bus?.HostBridge.ConfigChanged();
    }

    public string Name { get; }

    /// <summary>The topology kind this function came from (a switch's ports report <see cref="DeviceKind.Switch"/>).</summary>
    public DeviceKind Kind { get; }

    public PciExpressPortType PortType { get; }

    /// <summary>Where the function was described (JSON path or dump location).</summary>
    public string JsonPath { get; }

    public ConfigSpace Config { get; } = new();

    /// <summary>The bus the function sits on.</summary>
    public PciBus Bus => _bus ?? throw new InvalidOperationException($"{Name} is not on a bus yet.");

    /// <summary>Device and function number on <see cref="Bus"/>.</summary>
    public int DevFn { get; private set; }

    /// <summary>The requester ID, as it currently stands (bus numbers come from the bridges above).</summary>
    public Bdf Bdf => Bdf.FromBusDevFn(Bus.Number, DevFn);

    public HostBridge HostBridge => Bus.HostBridge;

    /// <summary>The fabric's cached climb of this function's requests to the root complex (see <see cref="Fabric.UpstreamClimb"/>).</summary>
    internal UpstreamClimb? UpstreamClimb
    {
        get => Volatile.Read(ref _upstreamClimb);
        set => Volatile.Write(ref _upstreamClimb, value);
    }

    /// <summary>Linux <c>pci_physfn()</c>: the PF of a VF, the function itself otherwise.</summary>
    public virtual PciFunction PhysicalFunction => this;

    /// <summary>Linux <c>pci_upstream_bridge()</c>: the bridge above the (physical) function; null on a root bus.</summary>
    public PciBridge? UpstreamBridge => _upstreamBridge;

    public int ExpressCapabilityOffset { get; private protected set; }

    /// <summary>Offset of the ACS extended capability; 0 when the function has none.</summary>
    public int AcsCapabilityOffset { get; private set; }

    public AcsFlags AcsCapability { get; private set; }

    public AcsFlags AcsControl { get; private set; }

    /// <summary>The ACS Egress Control Vector (bit n: peer requests to port/function n).</summary>
    public uint AcsEgressVector { get; private set; }

    public bool MemorySpaceEnabled { get; private set; }

    public bool BusMasterEnabled { get; private set; }

    /// <summary>Link Capabilities Port Number: what an ACS egress control vector bit refers to.</summary>
    public int PortNumber { get; private protected set; }

    /// <summary>
    /// What the function is, in the topology file's words ("nvme", "root-port", ...), with a switch's ports
    /// told apart ("switch upstream port", "switch downstream port").
    /// </summary>
    public string KindName => this switch
    {
        PciBridge { IsUpstreamPort: true } => "switch upstream port",
        PciBridge { IsDownstreamPort: true } => "switch downstream port",
        _ => Topology.Json.TopologyJsonNames.KindText(Kind),
    };

    /// <summary>"segment:bus:dev.fn" as lspci -D prints it.</summary>
    public string Address => $"{HostBridge.Segment:x4}:{Bdf}";

    public override string ToString() => $"{Name} ({Address})";

    internal void AttachTo(PciBus bus, int devFn)
    {
        _bus = bus;
        DevFn = devFn;
        bus.Add(this);

        // A bus's bridge never changes once attached, and a VF is attached after its PF.
        _upstreamBridge = PhysicalFunction.Bus.Self;
    }

    /// <summary>Writes the common type 0/1 header identity and the PCI Express capability.</summary>
    private protected void InitializeHeader(ushort vendorId, ushort deviceId, uint classCode, byte headerType, CapabilityLayout caps)
    {
        Config.Set16(PciConfig.VendorId, vendorId);
        Config.Set16(PciConfig.DeviceId, deviceId);
        Config.Set8(PciConfig.RevisionId, 0x01);
        Config.Set8(PciConfig.ClassProg, unchecked((byte)classCode));
        Config.Set16(PciConfig.ClassDevice, unchecked((ushort)(classCode >> 8)));
        Config.Set8(PciConfig.HeaderType, headerType);
        Config.SetWritable(PciConfig.Command, 2, PciConfig.CommandMemory | PciConfig.CommandMaster | PciConfig.CommandInterruptDisable);
        Config.SetWriteOneToClear(PciConfig.Status, 2, PciConfig.StatusErrorBits);
        Config.SetWritable(PciConfig.CacheLineSize, 1, 0xFF);
        Config.SetWritable(PciConfig.InterruptLine, 1, 0xFF);

        int express = caps.Add(PciConfig.CapIdExpress, PciExpressConfig.Length);
        ExpressCapabilityOffset = express;
        ushort flags = (ushort)(PciExpressConfig.FlagsVersion2 | ((int)PortType << 4));
        if (PortType is PciExpressPortType.RootPort or PciExpressPortType.DownstreamPort)
        {
            flags |= PciExpressConfig.FlagsSlotImplemented;
        }

        Config.Set16(express + PciExpressConfig.Flags, flags);
        Config.Set32(express + PciExpressConfig.DevCap, 0x0000_8002); // 512-byte max payload, role-based error reporting
        Config.SetWritable(express + PciExpressConfig.DevCtl, 2, 0x7FFF);
        Config.Set16(express + PciExpressConfig.DevCtl, 0x2810);     // 512-byte max read request, relaxed ordering
        Config.SetWriteOneToClear(express + PciExpressConfig.DevSta, 2, 0x000F);
        if (PortType != PciExpressPortType.RootComplexIntegratedEndpoint)
        {
            // Gen4 x16 link; the Port Number identifies the port in a switch or root complex.
            Config.Set32(express + PciExpressConfig.LnkCap, ((uint)PortNumber << PciExpressConfig.LnkCapPortNumberShift) | 0x0040_0104);
            Config.Set16(express + PciExpressConfig.LnkSta, 0x0104);
            Config.Set32(express + PciExpressConfig.LnkCap2, 0x0000_001E);
        }
    }

    /// <summary>Adds the ACS extended capability with the values the kernel will read.</summary>
    private protected void InitializeAcs(AcsDescription? acs, CapabilityLayout caps)
    {
        if (acs is null)
        {
            return;
        }

        bool egress = (acs.Capability & AcsFlags.EC) != 0;
        int offset = caps.AddExtended(PciConfig.ExtCapIdAcs, 1, egress ? 12 : 8);
        AcsCapabilityOffset = offset;
        int vectorBits = acs.EgressVectorBits is <= 0 or >= 256 ? 0 : acs.EgressVectorBits;
        Config.Set16(offset + AcsConfig.Capability, (ushort)((ushort)acs.Capability | (egress ? vectorBits << 8 : 0)));
        Config.Set16(offset + AcsConfig.Control, (ushort)acs.Control);
        Config.SetWritable(offset + AcsConfig.Control, 2, (ushort)acs.Capability);
        if (egress)
        {
            Config.Set32(offset + AcsConfig.EgressVector, acs.EgressVector);
            Config.SetWritable(offset + AcsConfig.EgressVector, 4, uint.MaxValue);
        }

        DecodeAcs();
    }

    /// <summary>Refreshes decoded state after software wrote config space.</summary>
    private protected virtual void OnConfigWritten(int offset, int length)
    {
        if (offset < PciConfig.Command + 2 && offset + length > PciConfig.Command)
        {
            DecodeCommand();
        }

        if (AcsCapabilityOffset != 0 && offset < AcsCapabilityOffset + 12 && offset + length > AcsCapabilityOffset)
        {
            DecodeAcs();
        }
    }

    private protected void DecodeCommand()
    {
        ushort command = Config.Read16(PciConfig.Command);
        MemorySpaceEnabled = (command & PciConfig.CommandMemory) != 0;
        BusMasterEnabled = (command & PciConfig.CommandMaster) != 0;
    }

    private void DecodeAcs()
    {
        AcsCapability = (AcsFlags)(Config.Read16(AcsCapabilityOffset + AcsConfig.Capability) & (ushort)AcsFlags.All);
        AcsControl = (AcsFlags)(Config.Read16(AcsCapabilityOffset + AcsConfig.Control) & (ushort)AcsFlags.All);
        AcsEgressVector = (AcsCapability & AcsFlags.EC) != 0 ? Config.Read32(AcsCapabilityOffset + AcsConfig.EgressVector) : 0;
    }
}
