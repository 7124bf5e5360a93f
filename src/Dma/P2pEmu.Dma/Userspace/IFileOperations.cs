namespace P2pEmu.Dma.Userspace;

/// <summary>The parts of Linux <c>struct file_operations</c> the emulated files implement.</summary>
public interface IFileOperations
{
    /// <summary><c>release</c>: the last reference to <paramref name="file"/> was dropped.</summary>
    void Release(OpenFile file);
}
