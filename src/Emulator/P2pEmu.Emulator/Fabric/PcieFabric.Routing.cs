using System.Runtime.CompilerServices;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Memory;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Emulator.Fabric;

/// <content>Routing of device-initiated memory transactions, as PCIe routes them.</content>
public sealed partial class PcieFabric
{
    /// <summary>
    /// Routes one memory request from <paramref name="requester"/>: inside a multi-function device, peer to
    /// peer at a switch by window, or up to the root complex (translation, then host RAM or a BAR below any
    /// root port the platform lets it reach). ACS on every ingress port is honoured: SV, TB, RR, CR, EC with
    /// the egress vector, UF and DT.
    /// </summary>
    /// <param name="translatedRequest">True for an ATS-translated request (AT field = Translated).</param>
    /// <param name="trace">When given, receives every hop with its reason (allocates; tools and tests only).</param>
    /// <param name="requesterId">The requester ID the device puts in the request; null for its own (a stale or buggy ID otherwise).</param>
    public RouteResult Route(PciFunction requester, DmaAddress address, AccessKind access, bool translatedRequest = false, RouteTrace? trace = null, Bdf? requesterId = null)
    {
        System.ArgumentNullException.ThrowIfNull(requester);
        ulong a = address.Value;
        trace?.Add(requester.Name, "{0} request for {1} from {2}", access, address, requesterId ?? requester.Bdf);
        if (!requester.BusMasterEnabled)
        {
            trace?.Add(requester.Name, "Bus Master Enable is clear: the function may not issue requests");
            return Refuse(RouteStatus.BusMasterDisabled, RouteReason.RequesterBusMasterDisabled, requester, null, false);
        }

        PciFunction? redirectedAt = null;
        if (requester is PciEndpoint endpoint && endpoint.Bus.Endpoints.Count > 1 && TryFindSiblingFunctionBar(endpoint, a, out PciBar? siblingBar))
        {
            AcsFlags ctrl = requester.AcsControl;
            if (translatedRequest && (ctrl & AcsFlags.DT) != 0)
            {
                return Deliver(siblingBar, null, a, RoutePath.MultiFunctionPeer, RouteReason.DirectTranslated, requester, null, null, false, ulong.MaxValue, trace);
            }

            if ((ctrl & AcsFlags.RR) != 0)
            {
                redirectedAt = requester;
                trace?.Add(requester.Name, "address is in {0} of the same device; ACS RR redirects upstream", siblingBar);
            }
            else if ((ctrl & AcsFlags.EC) != 0 && EgressBlocked(requester, siblingBar!.Owner.DevFn & 0x7))
            {
                trace?.Add(requester.Name, "ACS egress control vector blocks function {0}", siblingBar.Owner.DevFn & 0x7);
                return Refuse(RouteStatus.AcsViolation, RouteReason.AcsEgressBlocked, requester, null, false);
            }
            else
            {
                trace?.Add(requester.Name, "address is in {0} of the same device; delivered inside the device", siblingBar);
                PciFunction? completionRedirect = access == AccessKind.Read && (siblingBar!.Owner.AcsControl & AcsFlags.CR) != 0 ? siblingBar.Owner : null;
                return Deliver(siblingBar, null, a, RoutePath.MultiFunctionPeer, RouteReason.MultiFunctionBar, requester, null, completionRedirect, false, ulong.MaxValue, trace);
            }
        }

        PciBridge? port = requester.UpstreamBridge;
        while (port is not null)
        {
            // The request arrives on the secondary side of a root port or switch downstream port.
            if (!port.BusMasterEnabled)
            {
                trace?.Add(port.Name, "Bus Master Enable is clear: the bridge forwards nothing upstream");
                return Refuse(RouteStatus.UnsupportedRequest, RouteReason.BridgeBusMasterDisabled, port, redirectedAt, false);
            }

            AcsFlags ctrl = port.AcsControl;
            if ((ctrl & AcsFlags.SV) != 0 && !port.BusRangeContains((requesterId ?? requester.Bdf).Bus))
            {
                trace?.Add(port.Name, "ACS SV: requester bus {0:x2} is outside [{1:x2}-{2:x2}]", (requesterId ?? requester.Bdf).Bus, port.SecondaryBusNumber, port.SubordinateBusNumber);
                return Refuse(RouteStatus.AcsViolation, RouteReason.AcsSourceValidation, port, redirectedAt, false);
            }

            if (translatedRequest && (ctrl & AcsFlags.TB) != 0)
            {
                trace?.Add(port.Name, "ACS TB blocks translated requests");
                return Refuse(RouteStatus.AcsViolation, RouteReason.AcsTranslationBlocking, port, redirectedAt, false);
            }

            // A switch downstream port decodes inbound requests like a bridge: an address inside its own window
            // belongs below it and goes upstream only with ACS UF. A root port hands every inbound request to the
            // root complex (translation applies), so a redirected bus address reaches the IOMMU, as on real platforms.
            if (port.IsDownstreamPort && port.MemorySpaceEnabled && port.WindowContains(a))
            {
                if ((ctrl & AcsFlags.UF) == 0)
                {
                    trace?.Add(port.Name, "address belongs below this port and ACS Upstream Forwarding is off");
                    return Refuse(RouteStatus.UnsupportedRequest, RouteReason.NoUpstreamForwarding, port, redirectedAt, false);
                }

                trace?.Add(port.Name, "address belongs below this port; ACS UF forwards it upstream");
            }
            else if (port.IsDownstreamPort)
            {
                PciBridge? sibling = FindSiblingPort(port, a);
                if (sibling is not null)
                {
                    bool direct = translatedRequest && (ctrl & AcsFlags.DT) != 0;
                    if (!direct && (ctrl & AcsFlags.RR) != 0)
                    {
                        redirectedAt ??= port;
                        trace?.Add(port.Name, "address is in peer port {0}'s window; ACS RR redirects upstream", sibling.Name);
                    }
                    else if (!direct && (ctrl & AcsFlags.EC) != 0 && EgressBlocked(port, sibling.PortNumber))
                    {
                        trace?.Add(port.Name, "ACS egress control vector blocks port {0} ({1})", sibling.PortNumber, sibling.Name);
                        return Refuse(RouteStatus.AcsViolation, RouteReason.AcsEgressBlocked, port, redirectedAt, false);
                    }
                    else
                    {
                        trace?.Add(port.Name, "address is in peer port {0}'s window: turned around in the switch", sibling.Name);
                        PciFunction? completionRedirect = access == AccessKind.Read && (sibling.AcsControl & AcsFlags.CR) != 0 ? sibling : null;
                        PciBar? claim = Descend(sibling.SecondaryBus, a, trace, out PciBridge? unclaimedAt);
                        return Deliver(claim, unclaimedAt, a, RoutePath.SwitchPeer, direct ? RouteReason.DirectTranslated : RouteReason.PeerWindow, port, redirectedAt, completionRedirect, false, ulong.MaxValue, trace);
                    }
                }
            }

            if (!port.IsDownstreamPort)
            {
                break;
            }

            PciBridge upstreamPort = port.Bus.Self!;
            if (!upstreamPort.BusMasterEnabled)
            {
                trace?.Add(upstreamPort.Name, "Bus Master Enable is clear: the bridge forwards nothing upstream");
                return Refuse(RouteStatus.UnsupportedRequest, RouteReason.BridgeBusMasterDisabled, upstreamPort, redirectedAt, false);
            }

            trace?.Add(port.Name, "upstream through {0}", upstreamPort.Name);
            port = upstreamPort.UpstreamBridge;
        }

        return RouteAtRootComplex(requester, requesterId ?? requester.Bdf, port, a, access, redirectedAt, trace);
    }

    private RouteResult RouteAtRootComplex(PciFunction requester, Bdf requesterId, PciBridge? ingressPort, ulong a, AccessKind access, PciFunction? redirectedAt, RouteTrace? trace)
    {
        HostBridge hb = requester.HostBridge;
        if (access == AccessKind.Write && MsiController.InWindow(a))
        {
            return RouteToMsiController(hb, a, redirectedAt, trace); // PcieFabric.Msi.cs
        }

        if (!hb.Translator.TryTranslate(requester, requesterId, new DmaAddress(a), access, out BusAddress translated, out ulong contiguous))
        {
            trace?.Add(hb.Name, "translation of 0x{0:x} for {1} faulted", a, requesterId);
            return Refuse(RouteStatus.IommuFault, RouteReason.IommuFault, null, redirectedAt, true);
        }

        ulong t = translated.Value;
        if (t != a)
        {
            trace?.Add(hb.Name, "translated 0x{0:x} to 0x{1:x}", a, t);
        }

        if (TryFindRam(t, out ulong ramOffset, out ulong ramRemaining))
        {
            trace?.Add(hb.Name, "host RAM");
            return DeliverToRam(t, _ram.Region, ramOffset, System.Math.Min(ramRemaining, contiguous), redirectedAt);
        }

        return RouteToRootComplexPeer(requester, hb, ingressPort, t, contiguous, redirectedAt, trace);
    }

    /// <summary>A translated address that is not host RAM: a BAR below a root port of this or another host bridge, or nothing.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private RouteResult RouteToRootComplexPeer(PciFunction requester, HostBridge hb, PciBridge? ingressPort, ulong t, ulong contiguous, PciFunction? redirectedAt, RouteTrace? trace)
    {
        string rc = hb.Name;
        foreach (HostBridge target in _hostBridges)
        {
            if (!target.WindowContains(t))
            {
                continue;
            }

            PciFunction? egress = FindRootComplexEgress(target, t);
            if (egress is null)
            {
                break;
            }

            PciFunction ingress = (PciFunction?)ingressPort ?? requester;
            bool hairpin = ReferenceEquals(target, hb) && SameRootComplexPort(ingress, egress);
            if (!hairpin && !(hb.RootComplexP2p && target.RootComplexP2p))
            {
                trace?.Add(rc, "{0} is behind another root port{1}, and the root complex does not forward peer to peer", egress.Name, ReferenceEquals(target, hb) ? string.Empty : " of another host bridge");
                return Refuse(RouteStatus.UnsupportedRequest, RouteReason.NoRootComplexP2p, null, redirectedAt, true);
            }

            if (!hairpin && ingressPort is not null && (ingressPort.AcsControl & AcsFlags.EC) != 0 && EgressBlocked(ingressPort, egress.PortNumber))
            {
                trace?.Add(ingressPort.Name, "ACS egress control vector blocks root port {0} ({1})", egress.PortNumber, egress.Name);
                return Refuse(RouteStatus.AcsViolation, RouteReason.AcsEgressBlocked, ingressPort, redirectedAt, true);
            }

            trace?.Add(rc, hairpin ? "back down {0}" : "forwarded to {0}", egress.Name);
            PciBar? claim = Descend(egress is PciBridge bridge ? bridge.SecondaryBus : egress.Bus, t, trace, out PciBridge? unclaimedAt);
            return Deliver(claim, unclaimedAt, t, RoutePath.RootComplexPeer, hairpin ? RouteReason.RootComplexHairpin : RouteReason.RootComplexForward, null, redirectedAt, null, true, contiguous, trace);
        }

        trace?.Add(rc, "nothing claims 0x{0:x}", t);
        return Refuse(RouteStatus.UnsupportedRequest, RouteReason.Unclaimed, null, redirectedAt, true);
    }

    // The results are built in small methods of their own so that the routing methods keep small stack frames: a
    // RouteResult temporary holds five references, and every such local is zeroed on each call.

    /// <summary>A request that was not delivered.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static RouteResult Refuse(RouteStatus status, RouteReason reason, PciFunction? decidedAt, PciFunction? redirectedAt, bool reachedRootComplex) =>
        new(status, RoutePath.None, reason, decidedAt) { RedirectedAt = redirectedAt, ReachedRootComplex = reachedRootComplex };

    /// <summary>A request the root complex delivered to host RAM.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static RouteResult DeliverToRam(ulong t, BarRegion ram, ulong ramOffset, ulong contiguous, PciFunction? redirectedAt) =>
        new(RouteStatus.Delivered, RoutePath.HostMemory, RouteReason.HostMemory, null)
        {
            RedirectedAt = redirectedAt,
            ReachedRootComplex = true,
            TargetAddress = new BusAddress(t),
            TargetMemory = ram,
            TargetOffset = ramOffset,
            ContiguousBytes = contiguous,
        };

    /// <summary>Walks down from a bus by BARs and bridge windows to the completer.</summary>
    /// <param name="unclaimedAt">When nothing claims the address: the bridge whose bus had no taker (null for a root bus).</param>
    /// <returns>The BAR that claims <paramref name="a"/>, or null.</returns>
    private static PciBar? Descend(PciBus bus, ulong a, RouteTrace? trace, out PciBridge? unclaimedAt)
    {
        while (true)
        {
            foreach (PciEndpoint endpoint in bus.Endpoints)
            {
                foreach (PciBar bar in endpoint.BarList)
                {
                    if (bar.Contains(a))
                    {
                        trace?.Add(endpoint.Name, "claimed by BAR{0}", bar.Index);
                        unclaimedAt = null;
                        return bar;
                    }
                }
            }

            PciBridge? next = null;
            foreach (PciBridge bridge in bus.Bridges)
            {
                if (bridge.MemorySpaceEnabled && bridge.WindowContains(a))
                {
                    next = bridge;
                    break;
                }
            }

            if (next is null)
            {
                trace?.Add(bus.Self?.Name ?? bus.HostBridge.Name, "nothing on bus {0:x2} claims 0x{1:x}", bus.Number, a);
                unclaimedAt = bus.Self;
                return null;
            }

            trace?.Add(next.Name, "down");
            bus = next.SecondaryBus;
        }
    }

    /// <summary>The result for a request that went down to <paramref name="claim"/> (or found nothing there).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static RouteResult Deliver(PciBar? claim, PciBridge? unclaimedAt, ulong a, RoutePath path, RouteReason reason, PciFunction? decidedAt, PciFunction? redirectedAt, PciFunction? completionRedirect, bool reachedRootComplex, ulong contiguous, RouteTrace? trace)
    {
        if (claim is null)
        {
            return Refuse(RouteStatus.UnsupportedRequest, RouteReason.Unclaimed, unclaimedAt, redirectedAt, reachedRootComplex);
        }

        if (completionRedirect is not null)
        {
            trace?.Add(completionRedirect.Name, "ACS CR redirects the completion upstream");
        }

        ulong offset = a - claim.Address;
        return new RouteResult(RouteStatus.Delivered, path, reason, decidedAt)
        {
            RedirectedAt = redirectedAt,
            CompletionRedirectedAt = completionRedirect,
            ReachedRootComplex = reachedRootComplex,
            TargetAddress = new BusAddress(a),
            TargetBar = claim,
            TargetMemory = claim.Memory,
            TargetOffset = offset,
            ContiguousBytes = System.Math.Min(claim.SizeBytes - offset, contiguous),
        };
    }

    /// <summary>A BAR of another function of the same device (same link, or same device number on a root bus).</summary>
    private static bool TryFindSiblingFunctionBar(PciEndpoint requester, ulong a, out PciBar? bar)
    {
        PciBus bus = requester.Bus;
        PciFunction physical = requester.PhysicalFunction;
        int device = physical.DevFn >> 3;
        foreach (PciEndpoint other in bus.Endpoints)
        {
            if (ReferenceEquals(other, requester)
                || !(!bus.IsRootBus || (other.PhysicalFunction.DevFn >> 3) == device))
            {
                continue;
            }

            foreach (PciBar candidate in other.BarList)
            {
                if (candidate.Contains(a))
                {
                    bar = candidate;
                    return true;
                }
            }
        }

        bar = null;
        return false;
    }

    private static PciBridge? FindSiblingPort(PciBridge ingress, ulong a)
    {
        foreach (PciBridge sibling in ingress.Bus.Bridges)
        {
            if (!ReferenceEquals(sibling, ingress) && sibling.MemorySpaceEnabled && sibling.WindowContains(a))
            {
                return sibling;
            }
        }

        return null;
    }

    /// <summary>The root port (or root-bus endpoint) through which the root complex reaches <paramref name="a"/>.</summary>
    private static PciFunction? FindRootComplexEgress(HostBridge hb, ulong a)
    {
        foreach (PciEndpoint endpoint in hb.RootBus.Endpoints)
        {
            foreach (PciBar bar in endpoint.BarList)
            {
                if (bar.Contains(a))
                {
                    return endpoint;
                }
            }
        }

        foreach (PciBridge bridge in hb.RootBus.Bridges)
        {
            if (bridge.MemorySpaceEnabled && bridge.WindowContains(a))
            {
                return bridge;
            }
        }

        return null;
    }

    private static bool SameRootComplexPort(PciFunction ingress, PciFunction egress)
    {
        if (ReferenceEquals(ingress, egress))
        {
            return true;
        }

        // Functions of one root-complex integrated device share its connection to the root complex.
        return ingress is PciEndpoint && egress is PciEndpoint
            && (ingress.PhysicalFunction.DevFn >> 3) == (egress.PhysicalFunction.DevFn >> 3);
    }

    private static bool EgressBlocked(PciFunction port, int targetNumber) =>
        targetNumber < 32 && (port.AcsEgressVector & (1u << targetNumber)) != 0;
}
