using System;
using System.Collections.Generic;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Emulator.Fabric;

/// <content>
/// BAR and window assignment, as Linux sizes bridges bottom-up and assigns top-down: non-prefetchable and
/// 32-bit BARs go in the 32-bit window (a bridge's memory window is 32-bit only), 64-bit prefetchable BARs
/// in the 64-bit prefetchable window; items are placed largest alignment first; bridge windows are 1 MiB
/// granular and cover every BAR below them.
/// </content>
public sealed partial class FabricBuilder
{
    /// <summary>The platform's 32-bit MMIO hole, shared by the host bridges in order.</summary>
    public const ulong Memory32Start = 0x8000_0000;

    public const ulong Memory32End = 0xFEC0_0000;

    /// <summary>Where the 64-bit MMIO windows of the host bridges start (512 GiB).</summary>
    public const ulong Memory64Start = 0x80_0000_0000;

    private ulong _next32 = Memory32Start;
    private ulong _next64 = Memory64Start;

    private enum Window
    {
        Memory32,
        Prefetchable64,
    }

    private void AssignResources()
    {
        foreach (HostBridge hb in _hostBridges)
        {
            BusPlan plan = PlanBus(hb.RootBus);
            hb.Memory32Window = Allocate(ref _next32, Memory32End, plan.Memory32, hb.JsonPath, "32-bit");
            hb.Memory64Window = Allocate(ref _next64, ulong.MaxValue, plan.Prefetchable64, hb.JsonPath, "64-bit");
            Place(plan.Memory32, hb.Memory32Window.Base);
            Place(plan.Prefetchable64, hb.Memory64Window.Base);
        }
    }

    private static AddressRange Allocate(ref ulong cursor, ulong end, Layout layout, string path, string what)
    {
        if (layout.SizeBytes == 0)
        {
            return default;
        }

        ulong start = AlignUp(cursor, layout.Alignment);
        if (start < cursor || start > end || end - start < layout.SizeBytes)
        {
            throw new TopologyException(path, $"the {what} MMIO window is exhausted: the BARs below need 0x{layout.SizeBytes:x} bytes aligned to 0x{layout.Alignment:x}, and only [0x{cursor:x}-0x{end:x}) is left");
        }

        cursor = start + layout.SizeBytes;
        return new AddressRange(start, layout.SizeBytes);
    }

    private static BusPlan PlanBus(PciBus bus)
    {
        var memory32 = new Layout();
        var prefetchable = new Layout();
        foreach (PciFunction function in bus.Functions)
        {
            if (function is not PciEndpoint ep || ep.IsVirtualFunction)
            {
                continue;
            }

            foreach (PciBar bar in ep.Bars)
            {
                Layout target = IsPrefetchable64(bar.Is64Bit, bar.Prefetchable) ? prefetchable : memory32;
                target.Items.Add(new Item(bar.SizeBytes, bar.SizeBytes, baseAddress => ProgramBar(ep, PciConfig.Bar0, bar.Index, bar.Is64Bit, baseAddress)));
            }

            AddVfBars(ep, memory32, prefetchable);
        }

        foreach (PciBridge bridge in bus.Bridges)
        {
            BusPlan child = PlanBus(bridge.SecondaryBus);
            child.Memory32.Finish(PciConfig.BridgeWindowGranularity);
            child.Prefetchable64.Finish(PciConfig.BridgeWindowGranularity);
            if (child.Memory32.SizeBytes > 0)
            {
                Layout inner = child.Memory32;
                memory32.Items.Add(new Item(inner.SizeBytes, inner.Alignment, baseAddress =>
                {
                    ProgramWindow(bridge, Window.Memory32, baseAddress, inner.SizeBytes);
                    Place(inner, baseAddress);
                }));
            }

            if (child.Prefetchable64.SizeBytes > 0)
            {
                Layout inner = child.Prefetchable64;
                prefetchable.Items.Add(new Item(inner.SizeBytes, inner.Alignment, baseAddress =>
                {
                    ProgramWindow(bridge, Window.Prefetchable64, baseAddress, inner.SizeBytes);
                    Place(inner, baseAddress);
                }));
            }
        }

        memory32.Finish(1);
        prefetchable.Finish(1);
        return new BusPlan(memory32, prefetchable);
    }

    private static void AddVfBars(PciEndpoint pf, Layout memory32, Layout prefetchable)
    {
        if (pf.VirtualFunctions.Count == 0)
        {
            return;
        }

        int numVfs = pf.VirtualFunctions.Count;
        foreach (PciBar vfBar in pf.VirtualFunctions[0].Bars)
        {
            Layout target = IsPrefetchable64(vfBar.Is64Bit, vfBar.Prefetchable) ? prefetchable : memory32;
            int sriov = pf.SriovCapabilityOffset;
            target.Items.Add(new Item(vfBar.SizeBytes * (ulong)numVfs, vfBar.SizeBytes, baseAddress =>
                ProgramBar(pf, sriov + SriovConfig.VfBar0, vfBar.Index, vfBar.Is64Bit, baseAddress)));
        }
    }

    private static bool IsPrefetchable64(bool is64Bit, bool prefetchable) => is64Bit && prefetchable;

    private static void Place(Layout layout, ulong baseAddress)
    {
        ulong cursor = baseAddress;
        foreach (Item item in layout.Items)
        {
            cursor = AlignUp(cursor, item.Alignment);
            item.Assign(cursor);
            cursor += item.SizeBytes;
        }
    }

    private static void ProgramBar(PciEndpoint ep, int bar0Offset, int index, bool is64Bit, ulong address)
    {
        int offset = bar0Offset + (index * 4);
        ep.Config.Write32(offset, unchecked((uint)address));
        if (is64Bit)
        {
            ep.Config.Write32(offset + 4, (uint)(address >> 32));
        }
    }

    private static void ProgramWindow(PciBridge bridge, Window window, ulong baseAddress, ulong sizeBytes)
    {
        ulong limit = baseAddress + sizeBytes - 1;
        if (window == Window.Memory32)
        {
            bridge.Config.Write16(PciConfig.MemoryBase, (ushort)((baseAddress >> 16) & 0xFFF0));
            bridge.Config.Write16(PciConfig.MemoryLimit, (ushort)((limit >> 16) & 0xFFF0));
        }
        else
        {
            bridge.Config.Write32(PciConfig.PrefBaseUpper32, (uint)(baseAddress >> 32));
            bridge.Config.Write32(PciConfig.PrefLimitUpper32, (uint)(limit >> 32));
            bridge.Config.Write16(PciConfig.PrefMemoryBase, (ushort)((baseAddress >> 16) & 0xFFF0));
            bridge.Config.Write16(PciConfig.PrefMemoryLimit, (ushort)((limit >> 16) & 0xFFF0));
        }
    }

    private void EnableAll()
    {
        foreach (PciFunction function in _created)
        {
            if (function is PciEndpoint { SriovCapabilityOffset: > 0 } pf)
            {
                int sriov = pf.SriovCapabilityOffset;
                pf.Config.Write16(sriov + SriovConfig.NumVf, (ushort)pf.VirtualFunctions.Count);
                pf.Config.Write16(sriov + SriovConfig.Ctrl, SriovConfig.CtrlVfEnable | SriovConfig.CtrlVfMemoryEnable | SriovConfig.CtrlAriHierarchy);
            }

            if (function is PciBridge { IsUpstreamPort: false } port && HasAriFunctions(port.SecondaryBus))
            {
                port.Config.Write16(port.ExpressCapabilityOffset + PciExpressConfig.DevCtl2, PciExpressConfig.DevCtl2Ari);
            }

            function.Config.Write16(PciConfig.Command, PciConfig.CommandMemory | PciConfig.CommandMaster);
        }

        foreach (PciEndpoint vf in _virtualFunctions)
        {
            vf.Config.Write16(PciConfig.Command, PciConfig.CommandMaster);
        }
    }

    private static bool HasAriFunctions(PciBus bus)
    {
        foreach (PciFunction function in bus.Functions)
        {
            if (function.DevFn > 7)
            {
                return true;
            }
        }

        return false;
    }

    private static ulong AlignUp(ulong value, ulong alignment) => unchecked((value + alignment - 1) & ~(alignment - 1));

    private sealed record Item(ulong SizeBytes, ulong Alignment, Action<ulong> Assign);

    private sealed record BusPlan(Layout Memory32, Layout Prefetchable64);

    /// <summary>Items of one window type, sorted largest alignment first, with the size they need from an aligned base.</summary>
    private sealed class Layout
    {
        public List<Item> Items { get; } = new();

        public ulong SizeBytes { get; private set; }

        public ulong Alignment { get; private set; } = 1;

        public void Finish(ulong granularity)
        {
            Items.Sort((a, b) => b.Alignment.CompareTo(a.Alignment));
            ulong cursor = 0;
            ulong alignment = granularity;
            foreach (Item item in Items)
            {
                cursor = AlignUp(cursor, item.Alignment) + item.SizeBytes;
                alignment = Math.Max(alignment, item.Alignment);
            }

            SizeBytes = Items.Count == 0 ? 0 : AlignUp(cursor, granularity);
            Alignment = alignment;
        }
    }
}
