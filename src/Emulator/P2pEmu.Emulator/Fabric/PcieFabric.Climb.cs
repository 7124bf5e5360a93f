using System.Runtime.CompilerServices;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Emulator.Fabric;

/// <content>The DMA fast path: requests that climb straight to the root complex and land in host RAM.</content>
public sealed partial class PcieFabric
{
    /// <summary>
    /// Routes one of <paramref name="requester"/>'s own untranslated requests exactly as <see cref="Route"/> does, but
    /// answers a delivery to host RAM with just the RAM offset and run length, without building a result.
    /// </summary>
    /// <remarks>
    /// The per-page path of a DMA through scattered IOMMU pages: after a page-sized copy the store buffer is full, and
    /// each store the router makes (a result, a stack frame) waits for it to drain, so this path stores next to nothing.
    /// </remarks>
    /// <param name="result">Left untouched when the method returns true; otherwise receives the full route result.</param>
    /// <returns>True when the request was delivered to host RAM at <paramref name="ramOffset"/>.</returns>
    internal bool TryRouteToRam(PciFunction requester, ulong a, AccessKind access, ref RouteResult result, out ulong ramOffset, out ulong contiguousBytes)
    {
        HostBridge hb = requester.HostBridge;
        UpstreamClimb? climb = requester.UpstreamClimb;
        long generation = hb.ConfigGeneration;
        if (climb is null || climb.Generation != generation)
        {
            climb = ComputeUpstreamClimb(requester, hb, generation);
            requester.UpstreamClimb = climb;
        }

        if (!climb.Usable || hb.WindowContains(a) || MsiController.InWindow(a)) // the MSI window: PcieFabric.Msi.cs
        {
            RouteInto(requester, a, access, false, null, ref result);
            return Unrouted(out ramOffset, out contiguousBytes);
        }

        bool translatedOk = hb.Translator.TryTranslate(requester, requester.Bdf, new DmaAddress(a), access, out BusAddress translated, out ulong contiguous);
        if (translatedOk && TryFindRam(translated.Value, out ramOffset, out ulong ramRemaining))
        {
            contiguousBytes = System.Math.Min(ramRemaining, contiguous);
            return true;
        }

        RouteFromRootComplex(requester, hb, climb, translatedOk, translated.Value, contiguous, ref result);
        return Unrouted(out ramOffset, out contiguousBytes);
    }

    /// <summary>
    /// <see cref="Route"/> into <paramref name="result"/>, out of line. The ways off the DMA fast path (here and in
    /// <see cref="DmaPort"/>) build a whole result; called through this, the callers' frames (and the device models they
    /// are inlined into) do not carry, and zero on every call, the result temporaries of the rare paths.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal void RouteInto(PciFunction requester, ulong address, AccessKind access, bool translatedRequest, Bdf? requesterId, ref RouteResult result) =>
        result = Route(requester, new DmaAddress(address), access, translatedRequest, null, requesterId);

    /// <summary>The fast path's other way off, out of line for the same reason as <see cref="RouteInto"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RouteFromRootComplex(PciFunction requester, HostBridge hb, UpstreamClimb climb, bool translatedOk, ulong translated, ulong contiguous, ref RouteResult result) =>
        result = translatedOk
            ? RouteToRootComplexPeer(requester, hb, climb.IngressPort, translated, contiguous, null, null)
            : Refuse(RouteStatus.IommuFault, RouteReason.IommuFault, null, null, true);

    private static bool Unrouted(out ulong ramOffset, out ulong contiguousBytes)
    {
        ramOffset = 0;
        contiguousBytes = 0;
        return false;
    }

    /// <summary>
    /// The climb <see cref="Route"/> makes for <paramref name="requester"/>'s own untranslated requests to addresses
    /// outside <paramref name="hb"/>'s windows, or an unusable climb when it could depend on the address or fails.
    /// </summary>
    private static UpstreamClimb ComputeUpstreamClimb(PciFunction requester, HostBridge hb, long generation)
    {
        UpstreamClimb unusable = new(generation, false, null);
        if (!requester.BusMasterEnabled)
        {
            return unusable;
        }

        if (requester is PciEndpoint endpoint && endpoint.Bus.Endpoints.Count > 1)
        {
            foreach (PciEndpoint other in endpoint.Bus.Endpoints)
            {
                foreach (PciBar bar in other.BarList)
                {
                    if (bar.Decoding && !InsideHostBridgeWindows(hb, bar.Address, bar.Address + bar.SizeBytes - 1))
                    {
                        return unusable;
                    }
                }
            }
        }

        int requesterBus = requester.Bdf.Bus;
        PciBridge? port = requester.UpstreamBridge;
        while (port is not null)
        {
            if (!port.BusMasterEnabled || ((port.AcsControl & AcsFlags.SV) != 0 && !port.BusRangeContains(requesterBus)))
            {
                return unusable;
            }

            if (!port.IsDownstreamPort)
            {
                break;
            }

            foreach (PciBridge peer in port.Bus.Bridges)
            {
                if (!WindowsInsideHostBridge(hb, peer))
                {
                    return unusable;
                }
            }

            PciBridge upstreamPort = port.Bus.Self!;
            if (!upstreamPort.BusMasterEnabled)
            {
                return unusable;
            }

            port = upstreamPort.UpstreamBridge;
        }

        return new UpstreamClimb(generation, true, port);
    }

    private static bool WindowsInsideHostBridge(HostBridge hb, PciBridge bridge) =>
        (bridge.MemoryBase > bridge.MemoryLimit || InsideHostBridgeWindows(hb, bridge.MemoryBase, bridge.MemoryLimit))
        && (bridge.PrefetchableBase > bridge.PrefetchableLimit || InsideHostBridgeWindows(hb, bridge.PrefetchableBase, bridge.PrefetchableLimit));

    private static bool InsideHostBridgeWindows(HostBridge hb, ulong first, ulong last) =>
        last >= first
        && ((hb.Memory32Window.Contains(first) && hb.Memory32Window.Contains(last))
            || (hb.Memory64Window.Contains(first) && hb.Memory64Window.Contains(last)));
}
