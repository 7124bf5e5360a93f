using P2pEmu.Dma.Userspace;

namespace P2pEmu.Dma.DmaBuf;

/// <summary>The file operations of a dma-buf's file (<c>dma_buf_fops</c>): its last <c>fput</c> releases the buffer.</summary>
internal sealed class DmaBufFileOps : IFileOperations
{
    public static DmaBufFileOps Instance { get; } = new();

    public void Release(OpenFile file)
    {
        var dmabuf = (DmaBuf)file.PrivateData!;
        dmabuf.Host.Release(dmabuf);
    }
}
