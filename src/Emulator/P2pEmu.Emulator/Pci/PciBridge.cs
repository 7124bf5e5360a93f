using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Emulator.Pci;

/// <summary>
/// A PCI-to-PCI bridge function (type 1 header): a root port, or a switch's upstream or downstream port.
/// Its bus numbers and memory windows are decoded from config space and decide where it forwards.
/// </summary>
public sealed class PciBridge : PciFunction
{
    private const uint WindowLowGranularityMask = 0xFFFFF;

    internal PciBridge(
        string name,
        DeviceKind kind,
        PciExpressPortType portType,
        string jsonPath,
        ushort vendorId,
        ushort deviceId,
        AcsDescription? acs,
        int portNumber,
        HostBridge hostBridge)
        : base(name, kind, portType, jsonPath)
    {
        PortNumber = portNumber;
        var caps = new CapabilityLayout(Config);
        InitializeHeader(vendorId, deviceId, 0x060400, PciConfig.HeaderTypeBridge, caps);
        Config.SetWritable(PciConfig.PrimaryBus, 3, 0xFF_FFFF);
        Config.SetWritable(PciConfig.SecondaryLatencyTimer, 1, 0xFF);
        Config.Set8(PciConfig.IoBase, 0xF0);
        Config.SetWritable(PciConfig.IoBase, 2, 0xF0F0);
        Config.SetWriteOneToClear(PciConfig.SecondaryStatus, 2, PciConfig.StatusErrorBits);
        Config.SetWritable(PciConfig.MemoryBase, 4, 0xFFF0_FFF0);
        Config.Set16(PciConfig.MemoryBase, 0xFFF0);
        Config.Set16(PciConfig.PrefMemoryBase, 0xFFF1);
        Config.Set16(PciConfig.PrefMemoryLimit, 0x0001);
        Config.SetWritable(PciConfig.PrefMemoryBase, 4, 0xFFF0_FFF0);
        Config.SetWritable(PciConfig.PrefBaseUpper32, 4, uint.MaxValue);
        Config.SetWritable(PciConfig.PrefLimitUpper32, 4, uint.MaxValue);
        Config.SetWritable(PciConfig.BridgeControl, 2, 0x0053); // parity/SERR response, ISA, secondary bus reset
        if (portType is PciExpressPortType.DownstreamPort or PciExpressPortType.RootPort)
        {
            // Root and downstream ports support ARI forwarding, so SR-IOV VFs beyond device 0 are reachable.
            Config.Set32(ExpressCapabilityOffset + PciExpressConfig.DevCap2, PciExpressConfig.DevCap2Ari);
            Config.SetWritable(ExpressCapabilityOffset + PciExpressConfig.DevCtl2, 2, PciExpressConfig.DevCtl2Ari);
        }

        InitializeAcs(acs, caps);
        SecondaryBus = new PciBus(hostBridge, this, 0);
        DecodeWindows();
    }

    /// <summary>The bus behind this bridge.</summary>
    public PciBus SecondaryBus { get; }

    public int PrimaryBusNumber { get; private set; }

    public int SecondaryBusNumber { get; private set; }

    public int SubordinateBusNumber { get; private set; }

    /// <summary>Non-prefetchable memory window [base, limit]; empty when base &gt; limit.</summary>
    public ulong MemoryBase { get; private set; }

    public ulong MemoryLimit { get; private set; }

    /// <summary>Prefetchable memory window [base, limit] (64-bit); empty when base &gt; limit.</summary>
    public ulong PrefetchableBase { get; private set; }

    public ulong PrefetchableLimit { get; private set; }

    public bool IsRootPort => PortType == PciExpressPortType.RootPort;

    public bool IsUpstreamPort => PortType == PciExpressPortType.UpstreamPort;

    public bool IsDownstreamPort => PortType == PciExpressPortType.DownstreamPort;

    /// <summary>True when the address falls in one of the bridge's memory windows, ignoring Memory Space Enable.</summary>
    public bool WindowContains(ulong address) =>
        (address >= MemoryBase && address <= MemoryLimit) || (address >= PrefetchableBase && address <= PrefetchableLimit);

    /// <summary>Bytes from <paramref name="address"/> to the end of the window that contains it (0 when none does).</summary>
    public ulong WindowRemaining(ulong address)
    {
        if (address >= MemoryBase && address <= MemoryLimit)
        {
            return unchecked(MemoryLimit - address + 1);
        }

        if (address >= PrefetchableBase && address <= PrefetchableLimit)
        {
            return unchecked(PrefetchableLimit - address + 1);
        }

        return 0;
    }

    /// <summary>True when the bus number lies in [secondary, subordinate]: a requester ID that belongs below.</summary>
    public bool BusRangeContains(int bus) => bus >= SecondaryBusNumber && bus <= SubordinateBusNumber;

    private protected override void OnConfigWritten(int offset, int length)
    {
        base.OnConfigWritten(offset, length);
        if (offset < PciConfig.PrefLimitUpper32 + 4 && offset + length > PciConfig.PrimaryBus)
        {
            DecodeWindows();
        }
    }

    private void DecodeWindows()
    {
        PrimaryBusNumber = Config.Read8(PciConfig.PrimaryBus);
        SecondaryBusNumber = Config.Read8(PciConfig.SecondaryBus);
        SubordinateBusNumber = Config.Read8(PciConfig.SubordinateBus);
        MemoryBase = (ulong)(Config.Read16(PciConfig.MemoryBase) & 0xFFF0) << 16;
        MemoryLimit = ((ulong)(Config.Read16(PciConfig.MemoryLimit) & 0xFFF0) << 16) | WindowLowGranularityMask;
        PrefetchableBase = ((ulong)(Config.Read16(PciConfig.PrefMemoryBase) & 0xFFF0) << 16)
            | ((ulong)Config.Read32(PciConfig.PrefBaseUpper32) << 32);
        PrefetchableLimit = ((ulong)(Config.Read16(PciConfig.PrefMemoryLimit) & 0xFFF0) << 16)
            | ((ulong)Config.Read32(PciConfig.PrefLimitUpper32) << 32) | WindowLowGranularityMask;
    }
}
