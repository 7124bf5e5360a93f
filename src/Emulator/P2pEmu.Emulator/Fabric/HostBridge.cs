using System.Threading;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Emulator.Fabric;

/// <summary>A PCI host bridge: a segment, its root bus, its MMIO windows, and the root complex's rules.</summary>
public sealed class HostBridge
{
    private IRootComplexTranslator _translator = IdentityTranslator.Instance;
    private long _configGeneration;

    internal HostBridge(int index, HostBridgeDescription description)
    {
        Index = index;
        Name = description.Name;
        Segment = description.Segment;
        Iommu = description.Iommu;
        RootComplexP2p = description.RootComplexP2p;
        JsonPath = description.JsonPath;
        RootBus = new PciBus(this, null, description.Bus);
    }

    public int Index { get; }

    public string Name { get; }

    /// <summary>PCI domain (segment) number.</summary>
    public int Segment { get; }

    public PciBus RootBus { get; }

    public IommuMode Iommu { get; }

    /// <summary>Hardware: whether the root complex forwards requests between its root ports.</summary>
    public bool RootComplexP2p { get; }

    public string JsonPath { get; }

    /// <summary>The 32-bit non-prefetchable MMIO window the host bridge decodes.</summary>
    public AddressRange Memory32Window { get; internal set; }

    /// <summary>The 64-bit prefetchable MMIO window the host bridge decodes.</summary>
    public AddressRange Memory64Window { get; internal set; }

    /// <summary>Where requests arriving at this root complex are translated (the IOMMU, or identity).</summary>
    public IRootComplexTranslator Translator
    {
        get => _translator;
        set => _translator = value ?? IdentityTranslator.Instance;
    }

    /// <summary>Bumped by every config-space write to a function of this hierarchy; cached routing state of an older generation is stale.</summary>
    internal long ConfigGeneration => Volatile.Read(ref _configGeneration);

    public bool WindowContains(ulong address) => Memory32Window.Contains(address) || Memory64Window.Contains(address);

    internal void ConfigChanged() => Interlocked.Increment(ref _configGeneration);

    public override string ToString() => $"{Name} ({Segment:x4}:{RootBus.Number:x2})";
}
