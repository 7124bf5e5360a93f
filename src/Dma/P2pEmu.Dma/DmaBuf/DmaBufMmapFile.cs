using P2pEmu.Dma.Mm;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Dma.DmaBuf;

/// <summary>
/// The dma-buf's file as an address space maps it (<c>dma_buf_fops.mmap</c>): <c>mmap(2)</c> of the buffer's fd makes a
/// VMA whose entries are the exporter's page frames — VM_PFNMAP | VM_IO, as vfio-pci's and every MMIO exporter's mmap
/// makes them — so loads and stores work and GUP (O_DIRECT, <c>pin_user_pages</c>) fails with EFAULT.
/// </summary>
internal sealed class DmaBufMmapFile : IMmapFile
{
    private readonly DmaBuf _dmabuf;

    public DmaBufMmapFile(DmaBuf dmabuf) => _dmabuf = dmabuf;

    public AddressSpace Mapping { get; } = new();

    public Errno Mmap(VmAreaStruct vma)
    {
        Result<DmaBufCpuMapping> mapping = _dmabuf.Host.DmaBufMmap(_dmabuf, vma.PgOff, vma.LengthBytes / Page.PageSize, (vma.Flags & VmFlags.Shared) != 0);
        if (!mapping.IsSuccess)
        {
            return mapping.Error;
        }

        vma.SetPfnMap(mapping.Value);
        return Errno.None;
    }
}
