using P2pEmu.Emulator.Host;

namespace P2pEmu.Dma.Mm;

/// <summary>
/// An open file that can be mapped: Linux <c>struct file</c> with an <c>f_op-&gt;mmap</c>, and the
/// <c>address_space</c> of its inode, which records every VMA that maps it.
/// </summary>
public interface IMmapFile
{
    /// <summary><c>file-&gt;f_mapping</c>: finds every mapping of the file again (<see cref="AddressSpace.UnmapMappingRange"/>).</summary>
    AddressSpace Mapping { get; }

    /// <summary>
    /// <c>f_op-&gt;mmap</c>: sets a new mapping up, typically by inserting pages
    /// (<see cref="VmAreaStruct.VmInsertPage"/>). Called with the address space's mmap lock held, after the VMA
    /// was linked into <see cref="Mapping"/> and before it becomes visible in the address space. On an error the
    /// caller zaps whatever the operation inserted and discards the VMA.
    /// </summary>
    Errno Mmap(VmAreaStruct vma);
}
