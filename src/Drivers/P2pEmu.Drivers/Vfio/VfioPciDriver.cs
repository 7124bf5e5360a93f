using System;
using System.Collections.Generic;
using System.Threading;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Drivers.Vfio;

/// <summary>
/// The vfio-pci driver of one machine: binds PCI functions (each becomes a <see cref="VfioPciCoreDevice"/> users
/// open), and exports BAR ranges as dma-bufs through the P2PDMA core's naked providers. Behaviour follows the
/// dma-buf framework's kernel profile.
/// </summary>
public sealed class VfioPciDriver
{
    private readonly Lock _lock = new();
    private readonly Dictionary<PciFunction, VfioPciCoreDevice> _devices = new();

    public VfioPciDriver(DmaBufHost dmaBufs, VfioPciOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dmaBufs);
        DmaBufs = dmaBufs;
        Options = options ?? new VfioPciOptions();
    }

    /// <summary>The dma-buf framework buffers are exported through.</summary>
    public DmaBufHost DmaBufs { get; }

    public P2pDmaHost P2p => DmaBufs.P2p;

    public KernelProfile Profile => DmaBufs.Profile;

    public VfioPciOptions Options { get; }

    /// <summary>The bound devices.</summary>
    public IReadOnlyList<VfioPciCoreDevice> Devices
    {
        get
        {
            lock (_lock)
            {
                return new List<VfioPciCoreDevice>(_devices.Values);
            }
        }
    }

    /// <summary>
    /// Probe: <c>vfio_pci_core_init_dev</c> (<c>pcim_p2pdma_init</c>, whose EOPNOTSUPP for a device with non-mappable
    /// BARs is tolerated: such a device simply has no providers) and <c>vfio_pci_core_register_device</c>.
    /// </summary>
    /// <returns>The device; EBUSY when the function is already bound.</returns>
    public Result<VfioPciCoreDevice> Bind(PciEndpoint pdev)
    {
        ArgumentNullException.ThrowIfNull(pdev);
        Errno error = P2p.PcimP2pdmaInit(pdev);
        if (error is not Errno.None and not Errno.EOPNOTSUPP)
        {
            return error;
        }

        lock (_lock)
        {
            if (_devices.ContainsKey(pdev))
            {
                return Errno.EBUSY;
            }

            var vdev = new VfioPciCoreDevice(this, pdev);
            _devices.Add(pdev, vdev);
            return Result.Ok(vdev);
        }
    }

    /// <summary>
    /// Remove: <c>vfio_unregister_group_dev</c> drops the registration and waits until every user is gone — open
    /// device files, and dma-bufs until the device's close revoked them.
    /// </summary>
    /// <returns>None; ETIMEDOUT when users remain after <paramref name="timeout"/> (Linux keeps asking and waiting; the device stays unbinding).</returns>
    public Errno Unbind(VfioPciCoreDevice vdev, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(vdev);
        if (!vdev.Unregister(timeout))
        {
            return Errno.ETIMEDOUT;
        }

        lock (_lock)
        {
            _devices.Remove(vdev.Pdev);
        }

        return Errno.None;
    }

    /// <summary>The device bound to <paramref name="function"/>, if any.</summary>
    public VfioPciCoreDevice? Find(PciFunction function)
    {
        ArgumentNullException.ThrowIfNull(function);
        lock (_lock)
        {
            return _devices.TryGetValue(function, out VfioPciCoreDevice? vdev) ? vdev : null;
        }
    }

    /// <summary>
    /// <c>vfio_pci_dma_buf_iommufd_map</c>, the private interconnect with iommufd: the single physical range of a vfio
    /// dma-buf. Needs the reservation lock.
    /// </summary>
    /// <returns>The range; EOPNOTSUPP when the buffer is not vfio's or has more than one range; ENODEV while revoked; ENOLCK without the lock.</returns>
    public static Result<PhysVec> VfioPciDmaBufIommufdMap(DmaBufAttachment attachment)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        Errno held = attachment.DmaBuf.Resv.IsHeldByCurrentThread ? Errno.None : Errno.ENOLCK;
        if (held != Errno.None)
        {
            attachment.DmaBuf.Host.Violate(DmaBufViolationKind.LockNotHeld, "vfio_pci_dma_buf_iommufd_map", "called without holding the reservation lock");
            return held;
        }

        if (attachment.DmaBuf.Priv is not VfioPciDmaBuf priv)
        {
            return Errno.EOPNOTSUPP;
        }

        if (priv.Revoked)
        {
            return Errno.ENODEV;
        }

        return priv.NrRanges != 1 ? Errno.EOPNOTSUPP : Result.Ok(priv.PhysVec[0]);
    }
}
