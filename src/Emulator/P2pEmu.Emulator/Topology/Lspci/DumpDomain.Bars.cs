using System;
using System.Collections.Generic;
using System.Numerics;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Emulator.Topology.Lspci;

/// <content>
/// Memory BARs from the dump. Config space holds a BAR's address but not its size (software learns the
/// size by writing all-ones, which a dump cannot replay), so the size is inferred from the address and the
/// resources around it.
/// </content>
internal sealed partial class DumpDomain
{
    /// <summary>Smallest inferred BAR size: one page.</summary>
    private const ulong MinimumBarBytes = 4096;

    /// <summary>Cap for a BAR nothing bounds (the highest resource on a root bus).</summary>
    private const ulong UnboundedBarBytes = 1UL << 30;

    private const int BarCount = 6;

    /// <summary>Start addresses of every BAR, SR-IOV VF BAR and bridge window in the domain, ascending.</summary>
    private readonly List<ulong> _resourceStarts;

    private List<BarDescription> ReadBars(DumpFunction function)
    {
        var bars = new List<BarDescription>();
        foreach ((int index, ulong address, bool is64Bit, bool prefetchable) in DecodeBars(function, PciConfig.Bar0, BarCount))
        {
            if (address != 0)
            {
                bars.Add(new BarDescription(index, InferSize(function, address), prefetchable, is64Bit));
            }
        }

        return bars;
    }

    /// <summary>Decodes the memory BARs of a BAR block (the header's, or SR-IOV's VF BARs); I/O BARs are skipped.</summary>
    private static List<(int Index, ulong Address, bool Is64Bit, bool Prefetchable)> DecodeBars(DumpFunction function, int bar0Offset, int count)
    {
        var bars = new List<(int, ulong, bool, bool)>();
        ConfigSpace config = function.Config;
        for (int index = 0; index < count; index++)
        {
            uint low = config.Read32(bar0Offset + (index * 4));
            if ((low & 1) != 0)
            {
                continue;
            }

            bool is64Bit = (low & PciConfig.BarMemTypeMask) == PciConfig.BarMemType64;
            ulong address = low & PciConfig.BarMemMask;
            if (is64Bit)
            {
                if (index == count - 1)
                {
                    throw new TopologyException(function.Location, $"BAR{index} of {function.Address} is marked 64-bit but is the last BAR, with no upper half");
                }

                address |= (ulong)config.Read32(bar0Offset + ((index + 1) * 4)) << 32;
            }

            bars.Add((index, address, is64Bit, (low & PciConfig.BarPrefetch) != 0));
            if (is64Bit)
            {
                index++;
            }
        }

        return bars;
    }

    private List<ulong> CollectResourceStarts()
    {
        var starts = new List<ulong>();
        foreach (DumpFunction function in _functions)
        {
            if (function.IsBridge)
            {
                foreach ((ulong windowBase, ulong _) in Windows(function))
                {
                    starts.Add(windowBase);
                }
            }
            else if (function.HeaderLayout == PciConfig.HeaderTypeNormal && function.PhysicalFunction is null)
            {
                foreach ((int _, ulong address, bool _, bool _) in DecodeBars(function, PciConfig.Bar0, BarCount))
                {
                    starts.Add(address);
                }

                int sriov = FindExtended(function, PciConfig.ExtCapIdSriov, SriovConfig.Length);
                if (sriov != 0)
                {
                    foreach ((int _, ulong address, bool _, bool _) in DecodeBars(function, sriov + SriovConfig.VfBar0, BarCount))
                    {
                        starts.Add(address);
                    }
                }
            }
        }

        starts.RemoveAll(start => start == 0);
        starts.Sort();
        return starts;
    }

    /// <summary>
    /// The largest power of two <paramref name="address"/> is aligned to, capped below the next resource
    /// above it and the end of the enclosing window of the bridge above the function, at least 4 KiB.
    /// </summary>
    private ulong InferSize(DumpFunction function, ulong address)
    {
        ulong bound = ulong.MaxValue;
        int next = _resourceStarts.BinarySearch(address);
        next = next >= 0 ? next + 1 : ~next;
        while (next < _resourceStarts.Count && _resourceStarts[next] == address)
        {
            next++;
        }

        if (next < _resourceStarts.Count)
        {
            bound = _resourceStarts[next] - address;
        }

        if (_bridgeBySecondary.TryGetValue(function.Bus, out DumpFunction? parent))
        {
            foreach ((ulong windowBase, ulong windowLimit) in Windows(parent))
            {
                if (address >= windowBase && address <= windowLimit)
                {
                    ulong remaining = windowLimit - address;
                    bound = Math.Min(bound, remaining == ulong.MaxValue ? remaining : remaining + 1);
                }
            }
        }

        if (bound == ulong.MaxValue)
        {
            bound = UnboundedBarBytes;
        }

        ulong alignment = address & unchecked(0 - address);
        ulong largestFitting = 1UL << (63 - BitOperations.LeadingZeroCount(bound));
        ulong size = Math.Min(alignment, largestFitting);
        return Math.Max(size, MinimumBarBytes);
    }

    /// <summary>A bridge's open memory windows as [base, limit] (PCI-to-PCI Bridge spec: 1 MiB granular, the prefetchable one 64-bit when its low nibble says so).</summary>
    private static List<(ulong Base, ulong Limit)> Windows(DumpFunction bridge)
    {
        var windows = new List<(ulong, ulong)>(2);
        ConfigSpace config = bridge.Config;
        ulong memoryBase = (ulong)(config.Read16(PciConfig.MemoryBase) & 0xFFF0) << 16;
        ulong memoryLimit = ((ulong)(config.Read16(PciConfig.MemoryLimit) & 0xFFF0) << 16) | 0xFFFFF;
        if (memoryBase <= memoryLimit)
        {
            windows.Add((memoryBase, memoryLimit));
        }

        ushort prefBaseRegister = config.Read16(PciConfig.PrefMemoryBase);
        ushort prefLimitRegister = config.Read16(PciConfig.PrefMemoryLimit);
        ulong prefBase = (ulong)(prefBaseRegister & 0xFFF0) << 16;
        ulong prefLimit = ((ulong)(prefLimitRegister & 0xFFF0) << 16) | 0xFFFFF;
        if ((prefBaseRegister & 0xF) == 1)
        {
            prefBase |= (ulong)config.Read32(PciConfig.PrefBaseUpper32) << 32;
            prefLimit |= (ulong)config.Read32(PciConfig.PrefLimitUpper32) << 32;
        }

        if (prefBase <= prefLimit)
        {
            windows.Add((prefBase, prefLimit));
        }

        return windows;
    }
}
