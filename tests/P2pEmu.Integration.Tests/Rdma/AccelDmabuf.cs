using System;
using P2pEmu.Dma.Userspace;
using P2pEmu.Drivers.Vfio;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Integration.Tests.DmaBuf;
using Xunit;

namespace P2pEmu.Integration.Tests.Rdma;

/// <summary>
/// The accelerator of an <see cref="RdmaRig"/>, bound to vfio-pci and opened by a user process that exports a range of
/// its device memory (BAR1) as a dma-buf, the way a GPU's memory is handed to an RDMA NIC.
/// </summary>
internal sealed class AccelDmabuf
{
    public AccelDmabuf(RdmaRig rig, ulong offset, ulong length)
    {
        Rig = rig;
        Accel = (PciEndpoint)rig.Machine.Fabric["accel0"];
        Vdev = rig.Machine.Vfio.Find(Accel) ?? throw new InvalidOperationException("accel0 is not bound to vfio-pci");
        DeviceFd = Vdev.Open(User).Value;
        Fd = Vdev.IoctlDeviceFeature(User, DeviceFd, VfioMachine.FeatureArg(1, [(offset, length)])).Value;
    }

    public RdmaRig Rig { get; }

    public PciEndpoint Accel { get; }

    public VfioPciCoreDevice Vdev { get; }

    public Process User { get; } = new("rdma-user");

    public int DeviceFd { get; }

    /// <summary>The dma-buf descriptor.</summary>
    public int Fd { get; }

    /// <summary>Device memory, as the accelerator itself sees it.</summary>
    public Span<byte> Memory(ulong offset, int length) => Accel.GetBar(1)!.Memory!.GetSpan(offset, length);

    /// <summary>Revokes for good: closing the vfio device revokes every dma-buf it exported (memory stays decoded).</summary>
    public void CloseDevice() => Assert.Equal(Errno.None, User.Close(DeviceFd));
}
