using System;
using System.Collections.Generic;
using P2pEmu.Dma.Diagnostics;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Dma.P2pDma;

/// <content>Map type and distance (spec §2.2–2.4).</content>
public sealed partial class P2pDmaHost
{
    /// <summary>The <c>pci_p2pmem_find_many</c> cap on equally close candidates (PAGE_SIZE / sizeof(pointer)).</summary>
    public const int MaxClosestProviders = 512;

    /// <summary>
    /// Linux <c>pci_p2pdma_map_type(provider, dev)</c>: NOT_SUPPORTED when the owner has no P2PDMA state
    /// or <paramref name="dev"/> is not a PCI device (no parent walk); otherwise the cached map type,
    /// <b>even if ACS or the topology changed since it was cached</b>; computed (verbosely) and cached when
    /// nothing is cached yet.
    /// </summary>
    public PciP2pdmaMapType PciP2pdmaMapTypeOf(P2pProvider provider, Device dev)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(dev);
        PciP2pdma? p2pdma = GetP2pdma(provider.Owner);
        if (p2pdma is null || dev.Pci is not PciFunction client)
        {
            return PciP2pdmaMapType.NotSupported;
        }

        if (p2pdma.MapTypes.TryGetValue(MapTypesIndex(client), out PciP2pdmaMapType cached) && cached != PciP2pdmaMapType.Unknown)
        {
            return cached;
        }

        return CalcMapTypeAndDist(provider.Owner, client, out _, verbose: true);
    }

    /// <summary>Linux <c>pci_p2pdma_distance(provider, client, verbose)</c>: the single-client <see cref="PciP2pdmaDistanceMany"/>.</summary>
    public int PciP2pdmaDistance(PciFunction provider, Device client, bool verbose) =>
        PciP2pdmaDistanceMany(provider, new[] { client }, verbose);

    /// <summary>
    /// Linux <c>pci_p2pdma_distance_many</c>: the sum of the distances from the provider to each client's
    /// nearest PCI ancestor; -1 for no clients, a client with no PCI ancestor, or any NOT_SUPPORTED pair.
    /// Always recomputes and overwrites the provider's map-type cache.
    /// </summary>
    public int PciP2pdmaDistanceMany(PciFunction provider, IReadOnlyList<Device> clients, bool verbose)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(clients);
        if (clients.Count == 0)
        {
            return -1;
        }

        bool notSupported = false;
        int total = 0;
        foreach (Device device in clients)
        {
            PciFunction? client = device.FindParentPciDev();
            if (client is null)
            {
                if (verbose)
                {
                    LogLine($"{device.Name}: cannot be used for peer-to-peer DMA as it is not a PCI device");
                }

                return -1;
            }

            if (CalcMapTypeAndDist(provider, client, out int distance, verbose) == PciP2pdmaMapType.NotSupported)
            {
                notSupported = true;
                if (!verbose)
                {
                    break;
                }
            }

            total += distance;
        }

        return notSupported ? -1 : total;
    }

    /// <summary>
    /// Linux <c>pci_p2pmem_find_many</c>: among devices (in kernel list order) with a published pool, those
    /// at the smallest non-negative <see cref="PciP2pdmaDistanceMany"/> (at most
    /// <see cref="MaxClosestProviders"/>), one chosen uniformly at random; null when none qualifies.
    /// </summary>
    public PciFunction? PciP2pmemFindMany(IReadOnlyList<Device> clients)
    {
        ArgumentNullException.ThrowIfNull(clients);
        var closest = new List<PciFunction>();
        int closestDistance = int.MaxValue;
        foreach (PciFunction pdev in Fabric.Functions)
        {
            if (!PciHasP2pmem(pdev))
            {
                continue;
            }

            int distance = PciP2pdmaDistanceMany(pdev, clients, verbose: false);
            if (distance < 0 || distance > closestDistance || (distance == closestDistance && closest.Count >= MaxClosestProviders))
            {
                continue;
            }

            if (distance < closestDistance)
            {
                closest.Clear();
                closestDistance = distance;
            }

            closest.Add(pdev);
        }

        if (closest.Count == 0)
        {
            return null;
        }

        lock (_random)
        {
            return closest[_random.Next(closest.Count)];
        }
    }

    /// <summary>Linux <c>pci_p2pmem_find</c>: <see cref="PciP2pmemFindMany"/> for one client.</summary>
    public PciFunction? PciP2pmemFind(Device client) => PciP2pmemFindMany(new[] { client });

    /// <summary>Linux <c>pci_has_p2pmem</c>: the device has a pool and has published it.</summary>
    public bool PciHasP2pmem(PciFunction pdev) => GetP2pdma(pdev) is { Pool: not null, P2pmemPublished: true };

    /// <summary>
    /// The verdict for a pair with all its reasons, computed exactly as <c>calc_map_type_and_dist</c> does
    /// but without touching the cache or the kernel log (for tools and reports).
    /// </summary>
    public P2pVerdict Explain(PciFunction provider, PciFunction client)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(client);
        List<PciFunction>? redirecting = null;
        Calculation calc = Calculate(provider, client, collect: true, ref redirecting);
        return new P2pVerdict(
            provider,
            client,
            calc.MapType,
            calc.MapType == PciP2pdmaMapType.NotSupported ? -1 : calc.Distance,
            calc.Distance,
            calc.Common,
            (IReadOnlyList<PciFunction>?)redirecting ?? Array.Empty<PciFunction>(),
            CpuSupportsP2pdma || HostBridgeWhitelist(provider, client));
    }

    /// <summary>Linux <c>map_types_idx</c>: <c>(domain &lt;&lt; 16) | (bus &lt;&lt; 8) | devfn</c> of the client.</summary>
    public static int MapTypesIndex(PciFunction client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return (client.HostBridge.Segment << 16) | client.Bdf.Value;
    }

    /// <summary>Linux <c>pci_bridge_has_acs_redir</c>: an ACS capability whose control has RR, CR or EC (on any device, endpoints included).</summary>
    public static bool HasAcsRedirect(PciFunction device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return device.AcsCapabilityOffset != 0 && (device.AcsControl & (AcsFlags.RR | AcsFlags.CR | AcsFlags.EC)) != 0;
    }

    /// <summary>Linux <c>calc_map_type_and_dist</c>, with its warnings and its cache store.</summary>
    internal PciP2pdmaMapType CalcMapTypeAndDist(PciFunction provider, PciFunction client, out int dist, bool verbose)
    {
        List<PciFunction>? redirecting = null;
        Calculation calc = Calculate(provider, client, verbose, ref redirecting);
        dist = calc.Distance;
        if (verbose && calc.Common is not null && redirecting is not null)
        {
            Warn(client, $"ACS redirect is set between the client and provider ({provider.Address})");
            Warn(client, $"to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir={AcsRedirList(redirecting)}");
        }

        if (verbose && calc.MapType == PciP2pdmaMapType.NotSupported)
        {
            Warn(client, $"cannot be used for peer-to-peer DMA as the client and provider ({provider.Address}) do not share an upstream bridge or whitelisted host bridge");
        }

        // Linux stores into the provider's xarray only while the provider still has P2PDMA state.
        GetP2pdma(provider)?.MapTypes.AddOrUpdate(MapTypesIndex(client), calc.MapType, (_, _) => calc.MapType);
        DmaEventSource log = DmaEventSource.Log;
        if (log.IsEnabled())
        {
            log.MapType(DmaEventSource.RequesterId(provider), DmaEventSource.RequesterId(client), ((long)calc.MapType << 32) | (uint)dist);
        }

        return calc.MapType;
    }

    /// <summary>The algorithm of spec §2.3, steps 1–5, with no side effects.</summary>
    /// <param name="collect">Whether to list the redirecting devices (provider side first) in <paramref name="redirecting"/>, created on the first one.</param>
    private Calculation Calculate(PciFunction provider, PciFunction client, bool collect, ref List<PciFunction>? redirecting)
    {
        int acs = 0;
        int i = 0;
        for (PciFunction? a = provider; a is not null; a = a.UpstreamBridge, i++)
        {
            if (HasAcsRedirect(a))
            {
                acs++;
                if (collect)
                {
                    (redirecting ??= new List<PciFunction>()).Add(a);
                }
            }

            int j = 0;
            for (PciFunction? b = client; b is not null; b = b.UpstreamBridge, j++)
            {
                if (!ReferenceEquals(a, b))
                {
                    continue;
                }

                for (PciFunction? bb = client; !ReferenceEquals(bb, a); bb = bb!.UpstreamBridge)
                {
                    if (HasAcsRedirect(bb!))
                    {
                        acs++;
                        if (collect)
                        {
                            (redirecting ??= new List<PciFunction>()).Add(bb!);
                        }
                    }
                }

                return acs == 0
                    ? new Calculation(PciP2pdmaMapType.BusAddr, i + j, a)
                    : new Calculation(ThroughHostBridge(provider, client), i + j, a);
            }
        }

        // No common upstream device: the distance counts the nodes of both chains.
        return new Calculation(ThroughHostBridge(provider, client), i + ChainLength(client), null);
    }

    private PciP2pdmaMapType ThroughHostBridge(PciFunction provider, PciFunction client) =>
        CpuSupportsP2pdma || HostBridgeWhitelist(provider, client) ? PciP2pdmaMapType.ThruHostBridge : PciP2pdmaMapType.NotSupported;

    /// <summary>Linux <c>host_bridge_whitelist(a, b)</c>: same host bridge with REQ_SAME allowed, else both must pass alone.</summary>
    private bool HostBridgeWhitelist(PciFunction a, PciFunction b)
    {
        HostBridge hostA = a.HostBridge;
        HostBridge hostB = b.HostBridge;
        return ReferenceEquals(hostA, hostB)
            ? FindAllowListEntry(hostA, sameHostBridge: true).Allowed
            : FindAllowListEntry(hostA, sameHostBridge: false).Allowed && FindAllowListEntry(hostB, sameHostBridge: false).Allowed;
    }

    /// <summary>Linux <c>__host_bridge_whitelist</c>: the first matching entry decides; no root-bus host device or no match refuses.</summary>
    private (bool Allowed, PciFunction? HostDevice, HostBridgeAllowListEntry? Entry) FindAllowListEntry(HostBridge hostBridge, bool sameHostBridge)
    {
        PciFunction? root = PciHostBridgeDev(hostBridge);
        if (root is null)
        {
            return (false, null, null);
        }

        ushort vendor = root.Config.Read16(PciConfig.VendorId);
        ushort device = root.Config.Read16(PciConfig.DeviceId);
        foreach (HostBridgeAllowListEntry entry in AllowList)
        {
            if (entry.Matches(vendor, device))
            {
                return (!entry.RequireSameHostBridge || sameHostBridge, root, entry);
            }
        }

        return (false, root, null);
    }

    /// <summary>Linux <c>pci_host_bridge_dev</c>: the first device on the root bus, if it is 00.0 or a root port.</summary>
    public static PciFunction? PciHostBridgeDev(HostBridge hostBridge)
    {
        ArgumentNullException.ThrowIfNull(hostBridge);
        if (hostBridge.RootBus.Functions.Count == 0)
        {
            return null;
        }

        PciFunction first = hostBridge.RootBus.Functions[0];
        return first.DevFn == 0 || first.PortType == PciExpressPortType.RootPort ? first : null;
    }

    /// <summary>Why the host-bridge path is or is not allowed for a pair: the CPU rule, or which host device matched which allow-list entry.</summary>
    public string DescribeHostBridgeDecision(PciFunction provider, PciFunction client)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(client);
        if (CpuSupportsP2pdma)
        {
            return $"the CPU is AMD family 0x{Fabric.Platform.CpuFamily:x} (Zen or newer), which Linux trusts for P2P through the host bridge";
        }

        HostBridge hostA = provider.HostBridge;
        HostBridge hostB = client.HostBridge;
        bool same = ReferenceEquals(hostA, hostB);
        string first = DescribeAllowList(hostA, same);
        return same
            ? $"same host bridge {hostA.Name}: {first}"
            : $"different host bridges, each must be allowed alone: {hostA.Name}: {first}; {hostB.Name}: {DescribeAllowList(hostB, false)}";
    }

    private string DescribeAllowList(HostBridge hostBridge, bool same)
    {
        (bool ok, PciFunction? root, HostBridgeAllowListEntry? entry) = FindAllowListEntry(hostBridge, same);
        if (root is null)
        {
            return "no root-bus host device (the first device on the root bus is neither 00.0 nor a root port)";
        }

        string id = $"{root.Config.Read16(PciConfig.VendorId):x4}:{root.Config.Read16(PciConfig.DeviceId):x4}";
        if (entry is null)
        {
            return $"host device {root.Name} ({root.Address}, {id}) is not in the P2PDMA allow list";
        }

        return ok
            ? $"host device {root.Name} ({id}) matches allow-list entry {entry}"
            : $"host device {root.Name} ({id}) matches allow-list entry {entry}, which requires both devices under one host bridge";
    }

    private static int ChainLength(PciFunction device)
    {
        int length = 0;
        for (PciFunction? d = device; d is not null; d = d.UpstreamBridge)
        {
            length++;
        }

        return length;
    }

    private static string AcsRedirList(List<PciFunction> redirecting)
    {
        var list = new System.Text.StringBuilder();
        foreach (PciFunction device in redirecting)
        {
            list.Append(device.Address).Append(';');
        }

        return list.ToString(0, Math.Max(0, list.Length - 1));
    }

    private readonly record struct Calculation(PciP2pdmaMapType MapType, int Distance, PciFunction? Common);
}
