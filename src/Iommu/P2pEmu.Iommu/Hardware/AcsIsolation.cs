using System;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Iommu.Hardware;

/// <summary>
/// Linux's ACS isolation tests (drivers/pci/pci.c <c>pci_acs_enabled</c>, <c>pci_acs_path_enabled</c>), read from the
/// functions' config space as the kernel reads it.
/// </summary>
/// <remarks>Deviation: the device-specific ACS quirks (<c>pci_dev_specific_acs_enabled</c>) are not modelled.</remarks>
public static class AcsIsolation
{
    /// <summary>
    /// drivers/iommu/iommu.c <c>REQ_ACS_FLAGS</c>: Source Validation, Request Redirect, Completion Redirect and
    /// Upstream Forwarding, what the IOMMU core requires for a device to be isolated.
    /// </summary>
    public const AcsFlags RequiredFlags = AcsFlags.SV | AcsFlags.RR | AcsFlags.CR | AcsFlags.UF;

    /// <summary>The function's header says it is one of several functions of a device (Linux <c>pdev->multifunction</c>; never a VF).</summary>
    public static bool IsMultiFunction(PciFunction function)
    {
        ArgumentNullException.ThrowIfNull(function);
        return (function.Config.Read8(PciConfig.HeaderType) & PciConfig.HeaderTypeMultiFunction) != 0;
    }

    /// <summary>
    /// Linux <c>pci_acs_enabled</c>: whether <paramref name="function"/> effectively has <paramref name="flags"/> enabled.
    /// Downstream and root ports must have them; single-function endpoints and upstream ports need no ACS (nothing
    /// to isolate them from); functions of a multi-function device must have them; PCI and PCIe-to-PCI bridges,
    /// event collectors and conventional PCI functions never count as isolated.
    /// </summary>
    public static bool IsEnabled(PciFunction function, AcsFlags flags)
    {
        ArgumentNullException.ThrowIfNull(function);
        if (function.ExpressCapabilityOffset == 0)
        {
            return false;
        }

        switch (function.PortType)
        {
            case PciExpressPortType.PcieBridge:
            case PciExpressPortType.PciBridge:
            case PciExpressPortType.RootComplexEventCollector:
                return false;
            case PciExpressPortType.DownstreamPort:
            case PciExpressPortType.RootPort:
                return FlagsEnabled(function, flags);
            case PciExpressPortType.Endpoint:
            case PciExpressPortType.UpstreamPort:
            case PciExpressPortType.LegacyEndpoint:
            case PciExpressPortType.RootComplexIntegratedEndpoint:
                return !IsMultiFunction(function) || FlagsEnabled(function, flags);
            default:
                return true;
        }
    }

    /// <summary>
    /// Linux <c>pci_acs_path_enabled</c>: <see cref="IsEnabled"/> holds for <paramref name="start"/> and every bridge above it
    /// up to <paramref name="end"/>; with <paramref name="end"/> null, up to and including the function on the root bus.
    /// </summary>
    public static bool IsPathEnabled(PciFunction start, PciFunction? end, AcsFlags flags)
    {
        ArgumentNullException.ThrowIfNull(start);
        PciFunction function;
        PciFunction parent = start;
        do
        {
            function = parent;
            if (!IsEnabled(function, flags))
            {
                return false;
            }

            if (function.Bus.IsRootBus)
            {
                return end is null;
            }

            parent = function.Bus.Self!;
        }
        while (!ReferenceEquals(function, end));

        return true;
    }

    /// <summary>Linux <c>pci_acs_flags_enabled</c>: flags the capability does not implement are not required (EC always is).</summary>
    private static bool FlagsEnabled(PciFunction function, AcsFlags flags)
    {
        if (function.AcsCapabilityOffset == 0)
        {
            return false;
        }

        flags &= function.AcsCapability | AcsFlags.EC;
        return (function.AcsControl & flags) == flags;
    }
}
