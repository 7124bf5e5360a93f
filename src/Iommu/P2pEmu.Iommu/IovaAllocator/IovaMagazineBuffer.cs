using System.Runtime.CompilerServices;

namespace P2pEmu.Iommu.IovaAllocator;

/// <summary>The pfn slots of one magazine, inline in the magazine object (the largest model's 128).</summary>
[InlineArray(IovaMagazine.MaxCapacity)]
internal struct IovaMagazineBuffer
{
    private ulong _element0;
}
