using System.Runtime.InteropServices;

namespace P2pEmu.Drivers.Vfio;

/// <summary><c>struct vfio_device_feature</c>: the header of a <c>VFIO_DEVICE_FEATURE</c> ioctl; the feature's data follows it.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct VfioDeviceFeature
{
    /// <summary>Bytes of the header and the data.</summary>
    public uint Argsz;

    /// <summary>The feature index and GET/SET/PROBE.</summary>
    public uint Flags;
}
