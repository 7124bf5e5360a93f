using System.Collections.Generic;
using System.Linq;
using Xunit;

namespace P2pEmu.Iommu.Tests.IovaAllocator;

/// <summary>
/// The reference model of the randomised allocator tests: a plain list of the inclusive pfn intervals a caller
/// currently owns. Adding one that overlaps another fails the test.
/// </summary>
internal sealed class IntervalReference
{
    private readonly List<(ulong Lo, ulong Hi)> _owned = new();

    public int Count => _owned.Count;

    public IReadOnlyList<(ulong Lo, ulong Hi)> Owned => _owned;

    public void Add(ulong lo, ulong hi)
    {
        Assert.True(lo <= hi, $"interval [0x{lo:x}-0x{hi:x}] is inverted");
        foreach ((ulong a, ulong b) in _owned)
        {
            Assert.False(lo <= b && hi >= a, $"[0x{lo:x}-0x{hi:x}] overlaps the owned [0x{a:x}-0x{b:x}]");
        }

        _owned.Add((lo, hi));
    }

    public (ulong Lo, ulong Hi) RemoveAt(int index)
    {
        (ulong Lo, ulong Hi) interval = _owned[index];
        _owned[index] = _owned[^1];
        _owned.RemoveAt(_owned.Count - 1);
        return interval;
    }

    public bool Overlaps(ulong lo, ulong hi) => _owned.Any(r => lo <= r.Hi && hi >= r.Lo);
}
