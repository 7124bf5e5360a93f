using System.Runtime.InteropServices;

namespace P2pEmu.Iommu.Hardware;

/// <summary>
/// One IOTLB way: a run of IOVAs [start, start + length) inside one <see cref="IoTlb.BlockBytes"/> block of one
/// domain, translating to contiguous bus addresses from <see cref="Target"/>.
/// </summary>
/// <remarks>
/// Published with a sequence lock: the single writer (holding the IOTLB's lock) makes <see cref="Sequence"/> odd,
/// writes the fields, then makes it even again, every store a release (<c>Volatile.Write</c>). A reader loads the
/// sequence, the fields and the sequence again, every load an acquire (<c>Volatile.Read</c>), and uses the
/// fields only if both sequence loads are equal and even. 32 bytes: two ways per cache line.
/// </remarks>
[StructLayout(LayoutKind.Sequential)]
internal struct IoTlbEntry
{
    /// <summary>Odd while the writer is changing the entry; bumped by 2 per change (wraps, unchecked).</summary>
    public int Sequence;

    /// <summary>The domain (<see cref="IommuDomain.Id"/>); 0 for an empty way.</summary>
    public int DomainId;

    /// <summary>The run's first IOVA (4 KiB aligned) with the <see cref="IommuProt"/> bits in bits 1:0.</summary>
    public ulong Tag;

    /// <summary>Bytes in the run; 0 for an empty way.</summary>
    public ulong Length;

    /// <summary>Bus address of the run's first byte.</summary>
    public ulong Target;
}
