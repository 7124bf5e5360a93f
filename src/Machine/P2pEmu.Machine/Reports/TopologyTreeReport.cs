using System.Globalization;
using System.Linq;
using System.Text;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Emulator.Topology.Json;

namespace P2pEmu.Machine.Reports;

/// <summary>
/// The enumerated machine as a tree: every host bridge and function with its address, kind, IDs, bus
/// range, windows, BARs and ACS control, as a kernel developer reads <c>lspci -tv</c> and <c>-vv</c> together.
/// </summary>
public static class TopologyTreeReport
{
    public static string Render(PcieFabric fabric)
    {
        System.ArgumentNullException.ThrowIfNull(fabric);
        var text = new StringBuilder();
        PlatformDescription platform = fabric.Platform;
        text.Append(CultureInfo.InvariantCulture, $"platform: cpu {platform.CpuVendor.ToString().ToLowerInvariant()} family 0x{platform.CpuFamily:x}, kernel {(platform.Kernel == KernelProfile.Linux619 ? "6.19" : "revoke-2026")}, RAM {Size(platform.RamBytes)}");
        text.AppendLine();
        foreach (HostBridge hb in fabric.HostBridges)
        {
            text.Append(CultureInfo.InvariantCulture, $"{hb.Name} [{hb.Segment:x4}:{hb.RootBus.Number:x2}] iommu={hb.Iommu.ToString().ToLowerInvariant()} rootComplexP2p={(hb.RootComplexP2p ? "yes" : "no")} mem32 {hb.Memory32Window} mem64 {hb.Memory64Window}");
            text.AppendLine();
            RenderBus(hb.RootBus, string.Empty, text);
        }

        return text.ToString();
    }

    private static void RenderBus(PciBus bus, string indent, StringBuilder text)
    {
        for (int i = 0; i < bus.Functions.Count; i++)
        {
            PciFunction function = bus.Functions[i];
            bool last = i == bus.Functions.Count - 1;
            text.Append(indent).Append(last ? "`-- " : "|-- ").Append(Describe(function)).AppendLine();
            if (function is PciBridge bridge)
            {
                RenderBus(bridge.SecondaryBus, indent + (last ? "    " : "|   "), text);
            }
        }
    }

    private static string Describe(PciFunction function)
    {
        var line = new StringBuilder();
        (ushort vendor, ushort device) = Identity(function);
        line.Append(CultureInfo.InvariantCulture, $"{function.Bdf} {function.Name} ({KindText(function)}) [{vendor:x4}:{device:x4}]");
        if (function is PciBridge bridge)
        {
            line.Append(CultureInfo.InvariantCulture, $" bus [{bridge.SecondaryBusNumber:x2}-{bridge.SubordinateBusNumber:x2}]");
            if (bridge.MemoryBase <= bridge.MemoryLimit)
            {
                line.Append(CultureInfo.InvariantCulture, $" mem [0x{bridge.MemoryBase:x}-0x{bridge.MemoryLimit:x}]");
            }

            if (bridge.PrefetchableBase <= bridge.PrefetchableLimit)
            {
                line.Append(CultureInfo.InvariantCulture, $" pref [0x{bridge.PrefetchableBase:x}-0x{bridge.PrefetchableLimit:x}]");
            }
        }
        else if (function is PciEndpoint endpoint)
        {
            foreach (PciBar bar in endpoint.Bars)
            {
                line.Append(CultureInfo.InvariantCulture, $" BAR{bar.Index}=0x{bar.Address:x}+{Size(bar.SizeBytes)}{(bar.Prefetchable ? " pref" : string.Empty)}{(bar.Memory is null ? " regs" : string.Empty)}");
            }
        }

        if (function.AcsCapabilityOffset != 0)
        {
            string control = function.AcsControl == AcsFlags.None ? "-" : string.Join(' ', System.Enum.GetValues<AcsFlags>().Where(f => f is not AcsFlags.None and not AcsFlags.All && function.AcsControl.HasFlag(f)));
            line.Append(" ACS ").Append(control);
            if ((function.AcsControl & AcsFlags.EC) != 0)
            {
                line.Append(CultureInfo.InvariantCulture, $" egress=0x{function.AcsEgressVector:x}");
            }
        }

        return line.ToString();
    }

    /// <summary>Vendor and device ID as Linux reports them: a VF's come from its PF and the PF's SR-IOV capability.</summary>
    private static (ushort Vendor, ushort Device) Identity(PciFunction function)
    {
        if (function is PciEndpoint { IsVirtualFunction: true } vf)
        {
            var pf = (PciEndpoint)vf.PhysicalFunction;
            return (pf.Config.Read16(PciConfig.VendorId), pf.Config.Read16(pf.SriovCapabilityOffset + SriovConfig.VfDeviceId));
        }

        return (function.Config.Read16(PciConfig.VendorId), function.Config.Read16(PciConfig.DeviceId));
    }

    private static string KindText(PciFunction function) => function is PciEndpoint { IsVirtualFunction: true } ? "vf" : function.KindName;

    /// <summary>A byte count in the largest binary unit that divides it, plain bytes marked "B".</summary>
    public static string Size(ulong bytes)
    {
        string text = SizeText.Format(bytes);
        return char.IsAsciiDigit(text[^1]) ? text + "B" : text;
    }
}
