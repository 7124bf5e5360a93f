using System;
using System.Collections.Generic;
using P2pEmu.Emulator.Memory;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Emulator.Pci;

/// <summary>
/// An endpoint function (type 0 header): a PF, an extra function of a multi-function device, or an SR-IOV
/// VF. Its BARs decode where software programmed them, only while memory space is enabled (for a VF: while
/// the PF's SR-IOV control has VF Enable and VF Memory Space Enable).
/// </summary>
public sealed partial class PciEndpoint : PciFunction, IDisposable
{
    private readonly PciBar?[] _barsByIndex = new PciBar?[6];
    private readonly List<PciBar> _bars = new();
    private readonly List<PciEndpoint> _virtualFunctions = new();
    private readonly PciEndpoint? _physicalFunction;
    private int _disposed;

    internal PciEndpoint(DeviceDescription description, string name, PciExpressPortType portType, EndpointIdentity identity, int totalVfs)
        : base(name, description.Kind, portType, description.JsonPath)
    {
        Description = description;
        var caps = new CapabilityLayout(Config);
        InitializeHeader(identity.VendorId, identity.DeviceId, identity.ClassCode, PciConfig.HeaderTypeNormal, caps);
        Config.Set16(PciConfig.SubsystemVendorId, identity.VendorId);
        Config.Set16(PciConfig.SubsystemId, identity.DeviceId);
        Config.Set8(PciConfig.InterruptPin, 1);
        foreach (BarSpec spec in identity.Bars)
        {
            AddBar(spec);
        }

        InitializeMsiX(identity.MsiX, caps);
        InitializeAcs(description.Acs, caps);
        if (totalVfs > 0)
        {
            SriovCapabilityOffset = caps.AddExtended(PciConfig.ExtCapIdSriov, 1, SriovConfig.Length);
            InitializeSriov(identity, totalVfs);
        }
    }

    /// <summary>Creates VF number <paramref name="vfIndex"/> (0-based) of <paramref name="pf"/>.</summary>
    internal PciEndpoint(PciEndpoint pf, int vfIndex, string name, EndpointIdentity identity)
        : base(name, pf.Kind, pf.PortType, pf.JsonPath + ".vfs")
    {
        Description = pf.Description;
        _physicalFunction = pf;
        VfIndex = vfIndex;
        var caps = new CapabilityLayout(Config);

        // SR-IOV: a VF's Vendor and Device ID read all-ones; software takes them from the PF and its SR-IOV capability.
        InitializeHeader(0xFFFF, 0xFFFF, identity.ClassCode, PciConfig.HeaderTypeNormal, caps);
        Config.SetWritable(PciConfig.Command, 2, PciConfig.CommandMaster | PciConfig.CommandInterruptDisable);
        foreach (BarSpec spec in identity.VfBars)
        {
            AddBar(spec);
        }

        pf._virtualFunctions.Add(this);
    }

    public DeviceDescription Description { get; }

    public IReadOnlyList<PciBar> Bars => _bars;

    /// <summary>The BARs as their concrete list, so hot loops enumerate without boxing an enumerator.</summary>
    internal List<PciBar> BarList => _bars;

    public override PciFunction PhysicalFunction => _physicalFunction ?? this;

    public bool IsVirtualFunction => _physicalFunction is not null;

    /// <summary>0-based VF number; -1 for a PF or ordinary function.</summary>
    public int VfIndex { get; } = -1;

    public IReadOnlyList<PciEndpoint> VirtualFunctions => _virtualFunctions;

    public int SriovCapabilityOffset { get; }

    public PciBar? GetBar(int index) => unchecked((uint)index) < 6 ? _barsByIndex[index] : null;

    public void Dispose()
    {
        if (System.Threading.Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (PciBar bar in _bars)
        {
            bar.Memory?.Dispose();
        }
    }

    /// <summary>Writes this VF's routing-ID-independent parts once the PF decided its BAR layout.</summary>
    internal void RefreshVirtualFunctionBars()
    {
        int sriov = SriovCapabilityOffset;
        if (sriov == 0)
        {
            return;
        }

        ushort control = Config.Read16(sriov + SriovConfig.Ctrl);
        int numVfs = Config.Read16(sriov + SriovConfig.NumVf);
        bool decode = (control & SriovConfig.CtrlVfEnable) != 0 && (control & SriovConfig.CtrlVfMemoryEnable) != 0;
        foreach (PciEndpoint vf in _virtualFunctions)
        {
            foreach (PciBar bar in vf._bars)
            {
                ulong baseAddress = ReadBarAddress(sriov + SriovConfig.VfBar0, bar.Index, bar.Is64Bit);
                bar.SetDecode(unchecked(baseAddress + ((ulong)vf.VfIndex * bar.SizeBytes)), decode && vf.VfIndex < numVfs && baseAddress != 0);
            }
        }
    }

    private protected override void OnConfigWritten(int offset, int length)
    {
        base.OnConfigWritten(offset, length);
        OnMsiXConfigWritten(offset, length);
        if (IsVirtualFunction)
        {
            return;
        }

        if ((offset < PciConfig.Bar0 + 24 && offset + length > PciConfig.Bar0) || (offset <= PciConfig.Command + 1 && offset + length > PciConfig.Command))
        {
            DecodeBars();
        }

        int sriov = SriovCapabilityOffset;
        if (sriov != 0 && offset < sriov + SriovConfig.Length && offset + length > sriov)
        {
            RefreshVirtualFunctionBars();
        }
    }

    private void AddBar(BarSpec spec)
    {
        if (unchecked((uint)spec.Index) > 5 || (spec.Is64Bit && spec.Index == 5) || _barsByIndex[spec.Index] is not null
            || (spec.Is64Bit && _barsByIndex[spec.Index + 1] is not null) || (spec.Index > 0 && _barsByIndex[spec.Index - 1]?.Is64Bit == true))
        {
            throw new ArgumentException($"{Name}: BAR{spec.Index} overlaps another BAR or is out of range.", nameof(spec));
        }

        BarRegion? memory = null;
        if (spec.Mmio is null)
        {
            memory = spec.BackingPath is null ? BarRegion.CreateAnonymous(spec.SizeBytes) : CreateBacking(spec);
        }

        var bar = new PciBar(this, spec.Index, spec.SizeBytes, spec.Is64Bit, spec.Prefetchable, memory, spec.Mmio);
        _barsByIndex[spec.Index] = bar;
        _bars.Add(bar);
        if (!IsVirtualFunction)
        {
            WriteBarRegister(PciConfig.Bar0, bar);
        }
    }

    private BarRegion CreateBacking(BarSpec spec)
    {
        try
        {
            return BarRegion.CreateFile(spec.BackingPath!, spec.SizeBytes);
        }
        catch (Exception ex) when (ex is System.IO.IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new TopologyException($"{JsonPath}.bars", $"cannot back BAR{spec.Index} of {Name} with '{spec.BackingPath}': {ex.Message}");
        }
    }

    private void InitializeSriov(EndpointIdentity identity, int totalVfs)
    {
        int sriov = SriovCapabilityOffset;
        Config.Set32(sriov + SriovConfig.Cap, 0);
        Config.SetWritable(sriov + SriovConfig.Ctrl, 2, SriovConfig.CtrlVfEnable | SriovConfig.CtrlVfMemoryEnable | SriovConfig.CtrlAriHierarchy);
        Config.Set16(sriov + SriovConfig.InitialVf, (ushort)totalVfs);
        Config.Set16(sriov + SriovConfig.TotalVf, (ushort)totalVfs);
        Config.SetWritable(sriov + SriovConfig.NumVf, 2, 0xFFFF);
        Config.Set16(sriov + SriovConfig.VfStride, 1);
        Config.Set16(sriov + SriovConfig.VfDeviceId, identity.VfDeviceId);
        Config.Set32(sriov + SriovConfig.SupportedPageSizes, 0x553);
        Config.Set32(sriov + SriovConfig.SystemPageSize, 1);
        Config.SetWritable(sriov + SriovConfig.SystemPageSize, 4, 0x553);
        foreach (BarSpec spec in identity.VfBars)
        {
            WriteBarRegister(sriov + SriovConfig.VfBar0, new PciBar(this, spec.Index, spec.SizeBytes, spec.Is64Bit, spec.Prefetchable, null, null));
        }
    }

    /// <summary>Sets First VF Offset and Function Dependency Link once the builder placed the PF.</summary>
    internal void SetVfRoutingLayout(int firstVfOffset)
    {
        Config.Set16(SriovCapabilityOffset + SriovConfig.VfOffset, (ushort)firstVfOffset);
        Config.Set8(SriovCapabilityOffset + SriovConfig.FunctionLink, (byte)(DevFn & 0x7));
    }

    private void WriteBarRegister(int bar0Offset, PciBar bar)
    {
        int offset = bar0Offset + (bar.Index * 4);
        uint flags = (bar.Is64Bit ? PciConfig.BarMemType64 : 0) | (bar.Prefetchable ? PciConfig.BarPrefetch : 0);
        ulong addressMask = ~(bar.SizeBytes - 1);
        Config.Set32(offset, flags);
        Config.SetWritable(offset, 4, unchecked((uint)addressMask) & PciConfig.BarMemMask);
        if (bar.Is64Bit)
        {
            Config.Set32(offset + 4, 0);
            Config.SetWritable(offset + 4, 4, addressMask >> 32);
        }
    }

    private ulong ReadBarAddress(int bar0Offset, int index, bool is64Bit)
    {
        int offset = bar0Offset + (index * 4);
        ulong address = Config.Read32(offset) & PciConfig.BarMemMask;
        if (is64Bit)
        {
            address |= (ulong)Config.Read32(offset + 4) << 32;
        }

        return address;
    }

    private void DecodeBars()
    {
        foreach (PciBar bar in _bars)
        {
            ulong address = ReadBarAddress(PciConfig.Bar0, bar.Index, bar.Is64Bit);
            bar.SetDecode(address, MemorySpaceEnabled && address != 0);
        }
    }
}
