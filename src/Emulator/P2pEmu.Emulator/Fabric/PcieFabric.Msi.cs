using System.Threading;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Emulator.Fabric;

/// <content>
/// Interrupt messages: a device's memory write to the x86 MSI window is claimed by the root complex for the host's
/// <see cref="MsiController"/>, ahead of the IOMMU's DMA remapping (interrupt remapping is not modelled).
/// </content>
public sealed partial class PcieFabric
{
    private MsiController? _msi;

    /// <summary>The host's interrupt controller, shared by every host bridge (one APIC address space per machine).</summary>
    public MsiController Msi => LazyInitializer.EnsureInitialized(ref _msi);

    /// <summary>A write that reached root complex <paramref name="rootComplex"/> at an address in the MSI window.</summary>
    private RouteResult RouteToMsiController(string rootComplex, ulong a, PciFunction? redirectedAt, RouteTrace? trace)
    {
        trace?.Add(rootComplex, $"0x{a:x} is in the MSI window: an interrupt message for the interrupt controller, not translated");
        MsiController msi = Msi;
        return new RouteResult(RouteStatus.Delivered, RoutePath.Interrupt, RouteReason.MsiWindow, null)
        {
            RedirectedAt = redirectedAt,
            ReachedRootComplex = true,
            TargetAddress = new BusAddress(a),
            TargetBar = msi.WindowBar,
            TargetOffset = a - MsiController.WindowBase,
            ContiguousBytes = MsiController.WindowBase + MsiController.WindowSizeBytes - a,
        };
    }
}
