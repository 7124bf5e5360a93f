using System.Globalization;

namespace P2pEmu.Iommu.IovaAllocator;

/// <summary>
/// An allocated or reserved range of an <see cref="IovaDomain"/>, in IOVA page frames (Linux <c>struct iova</c>):
/// pfns <see cref="PfnLo"/> through <see cref="PfnHi"/>, both inclusive. A snapshot: it does not follow later
/// changes to the domain.
/// </summary>
/// <param name="PfnLo">First page frame of the range.</param>
/// <param name="PfnHi">Last page frame of the range (inclusive).</param>
public readonly record struct IovaRange(ulong PfnLo, ulong PfnHi)
{
    /// <summary>Number of page frames in the range.</summary>
    public ulong SizePages => PfnHi - PfnLo + 1;

    /// <summary>Whether <paramref name="pfn"/> lies in the range.</summary>
    public bool Contains(ulong pfn) => pfn >= PfnLo && pfn <= PfnHi;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"[pfn 0x{PfnLo:x}-0x{PfnHi:x}]");
}
