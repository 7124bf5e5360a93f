using System;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Dma.Mm;

/// <summary>
/// The special page-table entries behind a VM_PFNMAP | VM_IO mapping (<c>vmf_insert_pfn</c>, <c>remap_pfn_range</c>):
/// page frames with no <c>struct page</c>, reached by CPU loads and stores at an offset into the mapping and filled
/// by the owner's fault handler. GUP refuses such mappings (EFAULT, <c>check_vma_flags</c>) before it looks at an
/// entry. The VMAs over it hold references: a partial munmap leaves pieces that share it, and the last piece to go
/// unmaps it.
/// </summary>
public interface IPfnMap
{
    /// <summary>A CPU load of <paramref name="destination"/>.Length bytes at <paramref name="offset"/> into the mapping.</summary>
    /// <returns>None; EFAULT where the task would get SIGBUS (the owner refused the fault, or the mapping is gone).</returns>
    Errno Read(ulong offset, Span<byte> destination);

    /// <summary>A CPU store at <paramref name="offset"/> into the mapping.</summary>
    /// <returns>None; EFAULT where the task would get SIGBUS.</returns>
    Errno Write(ulong offset, ReadOnlySpan<byte> source);

    /// <summary><c>vm_ops-&gt;open</c>: a new VMA piece over it (a split) takes a reference.</summary>
    void VmaOpen();

    /// <summary><c>vm_ops-&gt;close</c>: a VMA over it went away; the last one unmaps it.</summary>
    void VmaClose();
}
