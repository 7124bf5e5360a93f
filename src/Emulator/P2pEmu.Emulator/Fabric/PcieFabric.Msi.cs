using System.Runtime.CompilerServices;
using System.Threading;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Emulator.Fabric;

/// <content>
/// Interrupt messages: a device's memory write to the x86 MSI window is claimed by the root complex for the host's
/// <see cref="MsiController"/>, ahead of the IOMMU's DMA remapping (interrupt remapping is not modelled). The
/// router's hook is in <c>RouteAtRootComplex</c>; the RAM fast path (<c>TryRouteToRam</c>) leaves window writes to it.
/// </content>
public sealed partial class PcieFabric
{
    private MsiController? _msi;

    /// <summary>The host's interrupt controller, shared by every host bridge (one APIC address space per machine).</summary>
    public MsiController Msi => LazyInitializer.EnsureInitialized(ref _msi);

    /// <summary>A write that reached <paramref name="hb"/>'s root complex at an address in the MSI window.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private RouteResult RouteToMsiController(HostBridge hb, ulong a, PciFunction? redirectedAt, RouteTrace? trace)
    {
        trace?.Add(hb.Name, "0x{0:x} is in the MSI window: an interrupt message for the interrupt controller, not translated", a);
        return new RouteResult(RouteStatus.Delivered, RoutePath.Interrupt, RouteReason.MsiWindow, null)
        {
            RedirectedAt = redirectedAt,
            ReachedRootComplex = true,
            TargetAddress = new BusAddress(a),
            TargetBar = Msi.WindowBar,
            TargetOffset = a - MsiController.WindowBase,
            ContiguousBytes = MsiController.WindowBase + MsiController.WindowSizeBytes - a,
        };
    }
}
