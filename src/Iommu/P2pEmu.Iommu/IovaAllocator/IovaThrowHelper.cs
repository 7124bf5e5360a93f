using System;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace P2pEmu.Iommu.IovaAllocator;

/// <summary>Throws for the IOVA allocator, out of line so the hot methods stay small (STYLE R7).</summary>
internal static class IovaThrowHelper
{
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowNotAllocated(ulong pfn) =>
        throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"No IOVA is allocated at pfn 0x{pfn:x}."), nameof(pfn));

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowWrongSize(ulong pfn, ulong allocatedPages, ulong sizePages) =>
        throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The IOVA at pfn 0x{pfn:x} spans {allocatedPages} pages, a different size class from the {sizePages} pages being freed."), nameof(sizePages));

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowCpuOutOfRange(int cpu, int cpuCount) =>
        throw new ArgumentOutOfRangeException(nameof(cpu), cpu, string.Create(CultureInfo.InvariantCulture, $"CPU index must be below {cpuCount}."));
}
