using P2pEmu.Dma.Userspace;

namespace P2pEmu.Drivers.Vfio;

/// <summary>The file operations of a vfio device file (<c>vfio_device_fops</c>): its release closes the device once.</summary>
internal sealed class VfioDeviceFileOps : IFileOperations
{
    public static VfioDeviceFileOps Instance { get; } = new();

    public void Release(OpenFile file) => ((VfioPciCoreDevice)file.PrivateData!).ReleaseFile();
}
