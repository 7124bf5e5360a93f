using System.Linq;
using P2pEmu.Dma.Userspace;
using P2pEmu.Drivers.Rdma;
using P2pEmu.Drivers.Vfio;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Machine.Scenarios.Workload;

/// <summary>
/// <c>dmabuf</c>: a process opens the accelerator's vfio device, exports its memory BAR as a dma-buf
/// (<c>VFIO_DEVICE_FEATURE_DMA_BUF</c>), and the far NIC imports it as a dynamic memory region
/// (<c>ib_umem_dmabuf</c>); the <c>from</c> NIC RDMA WRITEs into it. <see cref="Revoke"/> closes the device (vfio-pci
/// revokes the dma-buf); <see cref="Reset"/> is <c>VFIO_DEVICE_RESET</c>.
/// </summary>
internal sealed class DmabufTransfer : RdmaWriteTransfer
{
    private readonly Process _user = new("p2pemu-scenario");
    private VfioPciCoreDevice? _vdev;
    private int _deviceFd = -1;

    public DmabufTransfer(Machine machine, WorkloadTransfer spec, int seed)
        : base(machine, spec, seed)
    {
    }

    protected override IbMr? RegisterTarget(RdmaPair.RdmaEnd far)
    {
        _vdev = Machine.Vfio.Devices.First(v => v.Pdev.Name == Spec.To);
        ulong exported = ExportedBytes(Spec);
        Result<int> deviceFd = _vdev.Open(_user);
        Result<int> fd = deviceFd.IsSuccess ? _vdev.IoctlDeviceFeature(_user, deviceFd.Value, RdmaScenario.DmaBufFeature(region: 1, exported)) : deviceFd.Error;
        Result<IbMr> mr = fd.IsSuccess ? far.Dev.RegUserMrDmabuf(far.Pd, 0, exported, RemoteIova, _user, fd.Value, RdmaPair.AllAccess) : fd.Error;
        _deviceFd = deviceFd.IsSuccess ? deviceFd.Value : -1;
        if (!mr.IsSuccess)
        {
            SetupError = $"export and import of {Spec.To}'s memory: -{mr.Error}";
            return null;
        }

        far.Adopt(mr.Value);
        MapType = Machine.P2pDma.PcimP2pdmaProvider(_vdev.Pdev, 1) is { } provider
            ? Reports.P2pMatrix.MapTypeName(Machine.P2pDma.PciP2pdmaMapTypeOf(provider, far.Dev.DmaDev.Device))
            : "-";
        return mr.Value;
    }

    /// <summary>vfio-pci exports whole pages: [0, offset + size) rounded up to a page.</summary>
    public static ulong ExportedBytes(WorkloadTransfer spec) => (spec.Offset + spec.Size + 4095) & ~4095UL;

    /// <summary>The process closes the vfio device: the exporter revokes every dma-buf of it.</summary>
    public Errno Revoke()
    {
        Errno closed = _deviceFd < 0 ? Errno.EBADF : _user.Close(_deviceFd);
        _deviceFd = -1;
        return closed;
    }

    /// <summary><c>VFIO_DEVICE_RESET</c> through the process's device file.</summary>
    public Errno Reset() => _deviceFd < 0 ? Errno.EBADF : _vdev!.IoctlReset(_user, _deviceFd);

    /// <summary>The accelerator's memory itself: once the device is closed its BAR no longer decodes for the CPU.</summary>
    protected override byte[] TargetNow()
    {
        PciBar bar = _vdev!.Pdev.GetBar(1)!;
        return bar.Memory!.GetSpan(Spec.Offset, (int)Spec.Size).ToArray();
    }

    public override void Dispose()
    {
        base.Dispose();
        _user.Exit();
    }
}
