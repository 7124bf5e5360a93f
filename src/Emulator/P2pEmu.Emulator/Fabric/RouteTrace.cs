using System.Collections.Generic;
using System.Linq;

namespace P2pEmu.Emulator.Fabric;

/// <summary>A route explained hop by hop (tools and tests; the hot path passes no trace and allocates nothing).</summary>
public sealed class RouteTrace
{
    private readonly List<RouteHop> _hops = new();

    public IReadOnlyList<RouteHop> Hops => _hops;

    public void Add(string where, string what) => _hops.Add(new RouteHop(where, what));

    public override string ToString() => string.Join(" -> ", _hops.Select(h => h.ToString()));
}
