using System;
using System.Threading;

namespace P2pEmu.Dma.P2pDma;

/// <content>Which pages are P2P pages, and how a device maps them (spec §3.1, §3.2).</content>
public sealed partial class P2pDmaHost
{
    /// <summary>
    /// Linux <c>page_pgmap</c> for a P2P page: the page map whose range holds <paramref name="physAddress"/>,
    /// or null for an ordinary (host RAM) page.
    /// </summary>
    public P2pPagemap? FindPagemap(ulong physAddress)
    {
        P2pPagemap[] pagemaps = Volatile.Read(ref _pagemaps);
        for (int i = 0; i < pagemaps.Length; i++)
        {
            if (pagemaps[i].Range.Contains(physAddress))
            {
                return pagemaps[i];
            }
        }

        return null;
    }

    /// <summary>Linux <c>is_pci_p2pdma_page</c>.</summary>
    public bool IsPciP2pdmaPage(ulong physAddress) => FindPagemap(physAddress) is not null;

    /// <summary>
    /// Linux <c>pci_p2pdma_state(state, dev, page)</c>: NONE for an ordinary page; for a P2P page, the map type
    /// of its provider for <paramref name="dev"/> — looked up (<see cref="PciP2pdmaMapTypeOf"/>, so from the
    /// provider's cache) only when the provider differs from the one <paramref name="state"/> remembers.
    /// </summary>
    public PciP2pdmaMapType PciP2pdmaState(PciP2pdmaMapState state, Device dev, ulong physAddress)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(dev);
        if (FindPagemap(physAddress) is not P2pPagemap pagemap)
        {
            return PciP2pdmaMapType.None;
        }

        if (!ReferenceEquals(state.Provider, pagemap.Provider))
        {
            state.Provider = pagemap.Provider;
            state.MapType = PciP2pdmaMapTypeOf(pagemap.Provider, dev);
        }

        return state.MapType;
    }

    /// <summary>Linux <c>pci_p2pdma_bus_addr_map</c>: <c>phys + bus_offset</c>, in wrap-around arithmetic.</summary>
    public static ulong PciP2pdmaBusAddrMap(P2pProvider provider, ulong physAddress)
    {
        ArgumentNullException.ThrowIfNull(provider);
        return unchecked(physAddress + provider.BusOffset);
    }
}
