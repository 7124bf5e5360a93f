using System.Threading;
using P2pEmu.Dma.Mm;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Dma.P2pDma;

/// <summary>
/// The binary attribute <c>/sys/bus/pci/devices/&lt;bdf&gt;/p2pmem/allocate</c> (mode 0660, nominal size 1 TiB),
/// opened: mapping it with MAP_SHARED at offset 0 allocates p2pmem of the mapping's length and maps those pages
/// into the caller's address space (<c>p2pmem_alloc_mmap</c>, spec §4.4). It has no read or write.
/// </summary>
/// <remarks>
/// Provider teardown removes the attribute (<see cref="IsRemoved"/>): every existing mapping is zapped
/// (<c>unmap_mapping_range</c> on the file's mapping) and a later mmap of an open file fails with ENODEV, as
/// kernfs fails an mmap of a removed node. An mmap in progress finishes first and is zapped with the rest.
/// </remarks>
public sealed class P2pmemAllocateFile : IMmapFile
{
    /// <summary>The nominal file size (<c>SZ_1T</c>), so that tools that compare it with the mapping length let the mmap through.</summary>
    public const ulong NominalSizeBytes = 1UL << 40;

    private readonly P2pDmaHost _host;

    // kernfs's active reference: an mmap runs inside it, and removal waits for it.
    private readonly Lock _active = new();
    private bool _removed;

    internal P2pmemAllocateFile(P2pDmaHost host, PciFunction device)
    {
        _host = host;
        Device = device;
    }

    /// <summary>The provider device.</summary>
    public PciFunction Device { get; }

    /// <summary>The inode's mapping: every VMA of this file, in any address space.</summary>
    public AddressSpace Mapping { get; } = new();

    /// <summary>True once teardown removed the attribute.</summary>
    public bool IsRemoved
    {
        get
        {
            lock (_active)
            {
                return _removed;
            }
        }
    }

    /// <summary>
    /// <c>p2pmem_alloc_mmap</c>: see <see cref="P2pDmaHost"/>'s allocate mmap for the rules. Call through
    /// <see cref="MmStruct.Mmap"/>.
    /// </summary>
    /// <returns>None; EINVAL for a private mapping or an offset other than 0; ENODEV when the attribute was
    /// removed, the device has no P2PDMA state, or the page map is dying; ENOMEM when the pool has no free run of
    /// the mapping's length.</returns>
    public Errno Mmap(VmAreaStruct vma)
    {
        System.ArgumentNullException.ThrowIfNull(vma);
        lock (_active)
        {
            return _removed ? Errno.ENODEV : _host.P2pmemAllocMmap(Device, vma);
        }
    }

    public override string ToString() => $"{Device.Address}/{P2pmemSysfs.GroupName}/allocate";

    /// <summary>
    /// <c>sysfs_remove_file_from_group</c> of the attribute: no new mmap from here on, then every user mapping of
    /// the file is zapped. Idempotent.
    /// </summary>
    internal void Remove()
    {
        lock (_active)
        {
            _removed = true;
        }

        Mapping.UnmapMappingRange(0, 0);
    }
}
