using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Iommu.Hardware;

/// <summary>
/// The IOMMU groups of a fabric, computed the way Linux's <c>pci_device_group</c> computes them when the IOMMU
/// probes each device (drivers/iommu/iommu.c), from the ACS state in config space at the time of the call.
/// </summary>
/// <remarks>
/// <para>For each function, in kernel probe order (<see cref="PcieFabric.Functions"/>), behind a host bridge whose IOMMU is not off:</para>
/// <list type="number">
/// <item>DMA aliases: a PCIe-only hierarchy has none (<c>pci_for_each_dma_alias</c> reports the function itself);
/// PCIe-to-PCI bridges and alias quirks are not modelled.</item>
/// <item>Walk up from the function's bus: at each bridge, stop if <see cref="AcsIsolation.IsPathEnabled"/> holds from
/// that bridge to the root bus with <see cref="AcsIsolation.RequiredFlags"/>; otherwise the bridge becomes the
/// function to group by, and its group, if it has one, is the answer. So a bridge without ACS puts everything below
/// it in the group of the bridge (which may itself be its parent's).</item>
/// <item>The function reached has a group already (a bridge probed earlier): use it.</item>
/// <item>A function of a multi-function device without ACS joins the group of another function in the same slot
/// that also lacks ACS (<c>get_pci_function_alias_group</c>).</item>
/// <item>Otherwise a new group, numbered in allocation order from 0.</item>
/// </list>
/// <para>
/// SR-IOV VFs have no multi-function bit, so under a fully isolated path each VF gets its own group, as in Linux.
/// <see cref="IommuGroupPolicy.WidenedByReachability"/> additionally merges groups the fabric's routing lets reach each
/// other without the IOMMU.
/// </para>
/// </remarks>
public sealed class IommuGroups
{
    private readonly List<IommuGroup> _groups;
    private readonly Dictionary<PciFunction, IommuGroup> _byFunction;

    private IommuGroups(IommuGroupPolicy policy, List<IommuGroup> groups, Dictionary<PciFunction, IommuGroup> byFunction)
    {
        Policy = policy;
        _groups = groups;
        _byFunction = byFunction;
    }

    /// <summary>The rule the groups were formed by.</summary>
    public IommuGroupPolicy Policy { get; }

    /// <summary>The groups, by <see cref="IommuGroup.Id"/>.</summary>
    public IReadOnlyList<IommuGroup> Groups => _groups;

    /// <summary>Computes the groups of every function behind a host bridge whose IOMMU mode is not <see cref="IommuMode.Off"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="fabric"/> is null.</exception>
    public static IommuGroups Compute(PcieFabric fabric, IommuGroupPolicy policy = IommuGroupPolicy.Linux)
    {
        ArgumentNullException.ThrowIfNull(fabric);
        var groups = new List<IommuGroup>();
        var byFunction = new Dictionary<PciFunction, IommuGroup>();
        foreach (PciFunction function in fabric.Functions)
        {
            if (function.HostBridge.Iommu == IommuMode.Off)
            {
                continue;
            }

            IommuGroup group = DeviceGroup(function, byFunction) ?? NewGroup(groups);
            group.Add(function);
            byFunction.Add(function, group);
        }

        if (policy == IommuGroupPolicy.WidenedByReachability)
        {
            (groups, byFunction) = Widen(fabric, groups, byFunction);
        }

        return new IommuGroups(policy, groups, byFunction);
    }

    /// <summary>The group of <paramref name="function"/>.</summary>
    /// <exception cref="KeyNotFoundException">The function is not in any group (its host bridge's IOMMU is off).</exception>
    public IommuGroup GroupOf(PciFunction function) =>
        TryGetGroup(function, out IommuGroup? group) ? group : throw new KeyNotFoundException($"{function} is in no IOMMU group.");

    /// <summary>The group of <paramref name="function"/>, if it has one.</summary>
    public bool TryGetGroup(PciFunction function, [NotNullWhen(true)] out IommuGroup? group)
    {
        ArgumentNullException.ThrowIfNull(function);
        return _byFunction.TryGetValue(function, out group);
    }

    /// <summary>True when both functions are in the same group.</summary>
    public bool AreInSameGroup(PciFunction a, PciFunction b) =>
        TryGetGroup(a, out IommuGroup? ga) && TryGetGroup(b, out IommuGroup? gb) && ReferenceEquals(ga, gb);

    /// <summary>Linux <c>pci_device_group</c>: the existing group <paramref name="function"/> must join, or null for a new one.</summary>
    private static IommuGroup? DeviceGroup(PciFunction function, Dictionary<PciFunction, IommuGroup> byFunction)
    {
        PciFunction device = function;
        IommuGroup? group;
        for (PciBus bus = device.Bus; !bus.IsRootBus; bus = bus.Self!.Bus)
        {
            PciBridge self = bus.Self!;
            if (AcsIsolation.IsPathEnabled(self, null, AcsIsolation.RequiredFlags))
            {
                break;
            }

            device = self;
            if (byFunction.TryGetValue(device, out group))
            {
                return group;
            }
        }

        // get_pci_alias_group: the device's own group (alias quirks are not modelled).
        if (byFunction.TryGetValue(device, out group))
        {
            return group;
        }

        // get_pci_function_alias_group: non-isolated functions of one multi-function device share a group.
        if (!AcsIsolation.IsMultiFunction(device) || AcsIsolation.IsEnabled(device, AcsIsolation.RequiredFlags))
        {
            return null;
        }

        foreach (PciFunction other in device.Bus.Functions)
        {
            if (!ReferenceEquals(other, device) && (other.DevFn >> 3) == (device.DevFn >> 3)
                && !AcsIsolation.IsEnabled(other, AcsIsolation.RequiredFlags) && byFunction.TryGetValue(other, out group))
            {
                return group;
            }
        }

        return null;
    }

    private static IommuGroup NewGroup(List<IommuGroup> groups)
    {
        var group = new IommuGroup(groups.Count);
        groups.Add(group);
        return group;
    }

    /// <summary>Merges groups whose members reach a BAR of another group's member without the root complex.</summary>
    private static (List<IommuGroup> Groups, Dictionary<PciFunction, IommuGroup> ByFunction) Widen(
        PcieFabric fabric, List<IommuGroup> groups, Dictionary<PciFunction, IommuGroup> byFunction)
    {
        int[] parent = new int[groups.Count];
        for (int i = 0; i < parent.Length; i++)
        {
            parent[i] = i;
        }

        var endpoints = new List<PciEndpoint>();
        foreach (PciFunction function in fabric.Functions)
        {
            if (function is PciEndpoint endpoint && byFunction.ContainsKey(function))
            {
                endpoints.Add(endpoint);
            }
        }

        foreach (PciEndpoint requester in endpoints)
        {
            foreach (PciEndpoint target in endpoints)
            {
                int a = Find(parent, byFunction[requester].Id);
                int b = Find(parent, byFunction[target].Id);
                if (a != b && ReachesWithoutIommu(fabric, requester, target))
                {
                    parent[Math.Max(a, b)] = Math.Min(a, b);
                }
            }
        }

        var merged = new List<IommuGroup>();
        var byRoot = new Dictionary<int, IommuGroup>();
        var widened = new Dictionary<PciFunction, IommuGroup>();
        foreach (PciFunction function in fabric.Functions)
        {
            if (!byFunction.TryGetValue(function, out IommuGroup? original))
            {
                continue;
            }

            int root = Find(parent, original.Id);
            if (!byRoot.TryGetValue(root, out IommuGroup? group))
            {
                group = NewGroup(merged);
                byRoot.Add(root, group);
            }

            group.Add(function);
            widened.Add(function, group);
        }

        return (merged, widened);
    }

    private static bool ReachesWithoutIommu(PcieFabric fabric, PciEndpoint requester, PciEndpoint target)
    {
        foreach (PciBar bar in target.Bars)
        {
            if (!bar.Decoding)
            {
                continue;
            }

            RouteResult route = fabric.Route(requester, new DmaAddress(bar.Address), AccessKind.Write);
            if (route.IsDelivered && !route.ReachedRootComplex)
            {
                return true;
            }
        }

        return false;
    }

    private static int Find(int[] parent, int i)
    {
        while (parent[i] != i)
        {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }

        return i;
    }
}
