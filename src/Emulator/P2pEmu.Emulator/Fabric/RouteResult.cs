using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Memory;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Emulator.Fabric;

/// <summary>
/// Where one memory transaction went and why: the status, the path, the deciding rule and port, and for
/// a delivered transaction the completer (a BAR or host RAM), the offset into it, and how many bytes from
/// there route the same way.
/// </summary>
public readonly struct RouteResult
{
    internal RouteResult(RouteStatus status, RoutePath path, RouteReason reason, PciFunction? decidedAt)
    {
        Status = status;
        Path = path;
        Reason = reason;
        DecidedAt = decidedAt;
    }

    public RouteStatus Status { get; }

    public RoutePath Path { get; }

    public RouteReason Reason { get; }

    /// <summary>The port or function where the deciding rule applied (null: the root complex).</summary>
    public PciFunction? DecidedAt { get; }

    /// <summary>The first port whose ACS redirected the request upstream, if any.</summary>
    public PciFunction? RedirectedAt { get; init; }

    /// <summary>For a read delivered peer to peer: the completion was redirected upstream by ACS CR.</summary>
    public PciFunction? CompletionRedirectedAt { get; init; }

    /// <summary>True when the request reached a root complex (and its translation hook).</summary>
    public bool ReachedRootComplex { get; init; }

    /// <summary>The address the completer decoded (after translation, if the root complex translated).</summary>
    public BusAddress TargetAddress { get; init; }

    /// <summary>The BAR that completed the request; null for host RAM or a failure.</summary>
    public PciBar? TargetBar { get; init; }

    /// <summary>The memory that backs the completer (a memory BAR or host RAM); null for registers or a failure.</summary>
    public BarRegion? TargetMemory { get; init; }

    /// <summary>Offset of <see cref="TargetAddress"/> inside the BAR or inside host RAM's region.</summary>
    public ulong TargetOffset { get; init; }

    /// <summary>Bytes from the target address that route the same way (to the end of the BAR, RAM range or translated page).</summary>
    public ulong ContiguousBytes { get; init; }

    public bool IsDelivered => Status == RouteStatus.Delivered;

    public override string ToString() =>
        IsDelivered
            ? $"{Status} via {Path} ({Reason}) to {(TargetBar?.ToString() ?? "host RAM")} at {TargetAddress}"
            : $"{Status} ({Reason}) at {DecidedAt?.ToString() ?? "root complex"}";
}
