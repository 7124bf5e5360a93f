using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Linq;

namespace P2pEmu.Emulator.Fabric;

/// <summary>A route explained hop by hop (tools and tests; the hot path passes no trace and allocates nothing).</summary>
/// <remarks>
/// The router formats messages through the composite-format overloads rather than interpolated strings: an
/// interpolated-string handler is a large local in every routing method, zeroed on each call even when no trace is
/// kept, which costs more than the routing decision itself.
/// </remarks>
public sealed class RouteTrace
{
    private readonly List<RouteHop> _hops = new();

    public IReadOnlyList<RouteHop> Hops => _hops;

    public void Add(string where, string what) => _hops.Add(new RouteHop(where, what));

    public void Add<T0>(string where, [StringSyntax(StringSyntaxAttribute.CompositeFormat)] string format, T0 arg0) =>
        Add(where, string.Format(CultureInfo.InvariantCulture, format, arg0));

    public void Add<T0, T1>(string where, [StringSyntax(StringSyntaxAttribute.CompositeFormat)] string format, T0 arg0, T1 arg1) =>
        Add(where, string.Format(CultureInfo.InvariantCulture, format, arg0, arg1));

    public void Add<T0, T1, T2>(string where, [StringSyntax(StringSyntaxAttribute.CompositeFormat)] string format, T0 arg0, T1 arg1, T2 arg2) =>
        Add(where, string.Format(CultureInfo.InvariantCulture, format, arg0, arg1, arg2));

    public override string ToString() => string.Join(" -> ", _hops.Select(h => h.ToString()));
}
