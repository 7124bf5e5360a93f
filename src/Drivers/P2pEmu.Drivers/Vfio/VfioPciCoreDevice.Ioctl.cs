using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using P2pEmu.Dma.Userspace;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Drivers.Vfio;

/// <content>What a user does through the device file: the feature ioctl, command-register writes, resets.</content>
public sealed partial class VfioPciCoreDevice
{
    private static readonly int s_featureBytes = Marshal.SizeOf<VfioDeviceFeature>();
    private static readonly int s_dmaBufBytes = Marshal.SizeOf<VfioDeviceFeatureDmaBuf>();
    private static readonly int s_rangeBytes = Marshal.SizeOf<VfioRegionDmaRange>();

    /// <summary>
    /// <c>ioctl(fd, VFIO_DEVICE_FEATURE, arg)</c>, where <paramref name="userMemory"/> is the user memory at
    /// <c>arg</c> (a read past its end is a fault). <c>VFIO_DEVICE_FEATURE_DMA_BUF</c> with GET exports ranges of a
    /// BAR as a dma-buf whose descriptor lands in <paramref name="process"/> (spec §1.6 lists the checks in order).
    /// </summary>
    /// <returns>
    /// The new descriptor (0 for a PROBE). EBADF: <paramref name="fd"/> is not open; ENOTTY: not this device's file,
    /// or a feature vfio-pci does not model. Header: EFAULT (unreadable), EINVAL (argsz below the header, unknown
    /// flags, GET with SET). DMA_BUF: EOPNOTSUPP (no <c>get_dmabuf_phys</c>); EINVAL (SET, neither GET nor SET,
    /// argsz too small); EFAULT; EINVAL (no ranges, flags set); ENODEV (region is not a BAR; revoke-2026: no such
    /// BAR); ENOMEM (range array over <see cref="VfioUapi.KmallocMaxSize"/>); EINVAL (a range empty or not page
    /// aligned, the total overflows or has bit 63); EINVAL (no provider); EOVERFLOW (address overflow); EINVAL (range
    /// past the BAR); ENODEV (device unregistered); export and descriptor errors.
    /// </returns>
    public Result<int> IoctlDeviceFeature(Process process, int fd, ReadOnlySpan<byte> userMemory)
    {
        ArgumentNullException.ThrowIfNull(process);
        OpenFile? file = process.Fget(fd);
        if (file is null)
        {
            return Errno.EBADF;
        }

        try
        {
            if (!ReferenceEquals(file.PrivateData, this) || file.Ops is not VfioDeviceFileOps)
            {
                return Errno.ENOTTY;
            }

            if (userMemory.Length < s_featureBytes)
            {
                return Errno.EFAULT;
            }

            VfioDeviceFeature feature = MemoryMarshal.Read<VfioDeviceFeature>(userMemory);
            if (feature.Argsz < (uint)s_featureBytes)
            {
                return Errno.EINVAL;
            }

            const uint known = VfioUapi.DeviceFeatureMask | VfioUapi.DeviceFeatureGet | VfioUapi.DeviceFeatureSet | VfioUapi.DeviceFeatureProbe;
            if ((feature.Flags & ~known) != 0)
            {
                return Errno.EINVAL;
            }

            if ((feature.Flags & VfioUapi.DeviceFeatureProbe) == 0
                && (feature.Flags & VfioUapi.DeviceFeatureSet) != 0 && (feature.Flags & VfioUapi.DeviceFeatureGet) != 0)
            {
                return Errno.EINVAL;
            }

            return (feature.Flags & VfioUapi.DeviceFeatureMask) == VfioUapi.DeviceFeatureDmaBuf
                ? FeatureDmaBuf(process, feature.Flags, userMemory[s_featureBytes..], feature.Argsz - (uint)s_featureBytes)
                : Errno.ENOTTY;
        }
        finally
        {
            file.Put();
        }
    }

    /// <summary>
    /// A <c>pwrite</c> of the command register through the config region (<c>vfio_basic_config_write</c>). Turning
    /// memory decode off revokes every dma-buf first (with <c>memory_lock</c> held); the write reaches the function;
    /// if memory decode is on afterwards, the buffers are un-revoked. When this returns after turning decode off, no
    /// importer holds a mapping, no CPU mapping has an entry, and the BAR answers nothing (Unsupported Request).
    /// </summary>
    /// <returns>Bytes written (2); EBADF; ENOTTY for another file; EINVAL for anything but a 2-byte write at the command register (the rest of vfio's config virtualization is not modelled).</returns>
    public Result<int> ConfigWrite(Process process, int fd, int offset, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(process);
        Errno error = CheckDeviceFile(process, fd);
        if (error != Errno.None)
        {
            return error;
        }

        if (offset != PciConfig.Command || data.Length != 2)
        {
            return Errno.EINVAL;
        }

        ushort command = (ushort)(data[0] | (data[1] << 8));
        var deferredPuts = new List<OpenFile>();
        _memoryLock.DownWrite();
        try
        {
            if ((command & PciConfig.CommandMemory) == 0)
            {
                MoveLocked(true, deferredPuts);
            }

            Pdev.Config.Write16(PciConfig.Command, command);
            if (MemoryEnabled)
            {
                MoveLocked(false, deferredPuts);
            }
        }
        finally
        {
            _memoryLock.UpWrite();
        }

        PutAll(deferredPuts);
        return Result.Ok(2);
    }

    /// <summary>
    /// <c>VFIO_DEVICE_RESET</c>: revoke every dma-buf, reset the function (its command register and BARs clear, so it
    /// stops decoding, then its saved state comes back), and un-revoke if memory decode is on again.
    /// </summary>
    /// <returns>None; EBADF; ENOTTY for another file.</returns>
    public Errno IoctlReset(Process process, int fd)
    {
        ArgumentNullException.ThrowIfNull(process);
        Errno error = CheckDeviceFile(process, fd);
        if (error != Errno.None)
        {
            return error;
        }

        var deferredPuts = new List<OpenFile>();
        _memoryLock.DownWrite();
        try
        {
            MoveLocked(true, deferredPuts);
            FunctionReset();
            if (MemoryEnabled)
            {
                MoveLocked(false, deferredPuts);
            }
        }
        finally
        {
            _memoryLock.UpWrite();
        }

        PutAll(deferredPuts);
        return Errno.None;
    }

    /// <summary>
    /// <c>VFIO_DEVICE_PCI_HOT_RESET</c>: a secondary bus reset of the function's bus. Every function on the bus must be
    /// bound to vfio-pci and open; each one's dma-bufs are revoked (its <c>memory_lock</c> held), the bus resets, then
    /// each is un-revoked if its memory decode is on again.
    /// </summary>
    /// <returns>
    /// None; EBADF; ENOTTY for another file; ENODEV on a root bus (no bridge to reset it); EINVAL when a function on the
    /// bus is not an open vfio device (deviation: Linux proves ownership with group or device descriptors).
    /// </returns>
    public Errno IoctlPciHotReset(Process process, int fd)
    {
        ArgumentNullException.ThrowIfNull(process);
        Errno error = CheckDeviceFile(process, fd);
        if (error != Errno.None)
        {
            return error;
        }

        PciBus bus = Pdev.Bus;
        if (bus.IsRootBus)
        {
            return Errno.ENODEV;
        }

        var set = new List<VfioPciCoreDevice>();
        foreach (PciEndpoint function in bus.Functions.OfType<PciEndpoint>())
        {
            VfioPciCoreDevice? vdev = Driver.Find(function);
            if (vdev is null || vdev.OpenCount == 0)
            {
                return Errno.EINVAL;
            }

            set.Add(vdev);
        }

        var deferredPuts = new List<OpenFile>();
        int locked = 0;
        try
        {
            foreach (VfioPciCoreDevice vdev in set)
            {
                vdev._memoryLock.DownWrite();
                locked++;
                vdev.MoveLocked(true, deferredPuts);
            }

            foreach (VfioPciCoreDevice vdev in set)
            {
                vdev.FunctionReset();
            }

            for (int i = set.Count - 1; i >= 0; i--)
            {
                if (set[i].MemoryEnabled)
                {
                    set[i].MoveLocked(false, deferredPuts);
                }
            }
        }
        finally
        {
            for (int i = locked - 1; i >= 0; i--)
            {
                set[i]._memoryLock.UpWrite();
            }
        }

        PutAll(deferredPuts);
        return Errno.None;
    }

    /// <summary>
    /// A function reset as the function sees it, with the state save and restore around it that
    /// <c>pci_try_reset_function</c> does: command register and BARs clear (decoding stops, after the accesses it had
    /// claimed), then the saved values are written back. BAR memory keeps its contents.
    /// </summary>
    private void FunctionReset()
    {
        ConfigSpace config = Pdev.Config;
        ushort command = config.Read16(PciConfig.Command);
        Span<uint> bars = stackalloc uint[6];
        for (int i = 0; i < bars.Length; i++)
        {
            bars[i] = config.Read32(PciConfig.Bar0 + (i * 4));
        }

        config.Write16(PciConfig.Command, 0);
        for (int i = 0; i < bars.Length; i++)
        {
            config.Write32(PciConfig.Bar0 + (i * 4), 0);
        }

        for (int i = 0; i < bars.Length; i++)
        {
            config.Write32(PciConfig.Bar0 + (i * 4), bars[i]);
        }

        config.Write16(PciConfig.Command, command);
    }

    /// <summary>
    /// The body of <c>VFIO_DEVICE_FEATURE_DMA_BUF</c> (<c>vfio_pci_core_feature_dma_buf</c>): <paramref name="data"/> is
    /// the user memory after the header, <paramref name="argsz"/> what the header says is there.
    /// </summary>
    private Result<int> FeatureDmaBuf(Process process, uint flags, ReadOnlySpan<byte> data, uint argsz)
    {
        if (!Driver.Options.SupportsDmaBuf)
        {
            return Errno.EOPNOTSUPP;
        }

        // vfio_check_feature(flags, argsz, GET, sizeof(struct vfio_device_feature_dma_buf))
        if ((flags & (VfioUapi.DeviceFeatureGet | VfioUapi.DeviceFeatureSet) & ~VfioUapi.DeviceFeatureGet) != 0)
        {
            return Errno.EINVAL;
        }

        if ((flags & VfioUapi.DeviceFeatureProbe) != 0)
        {
            return Result.Ok(0);
        }

        if ((flags & (VfioUapi.DeviceFeatureGet | VfioUapi.DeviceFeatureSet)) == 0 || argsz < (uint)s_dmaBufBytes)
        {
            return Errno.EINVAL;
        }

        if (data.Length < s_dmaBufBytes)
        {
            return Errno.EFAULT;
        }

        VfioDeviceFeatureDmaBuf request = MemoryMarshal.Read<VfioDeviceFeatureDmaBuf>(data);
        if (request.NrRanges == 0 || request.Flags != 0)
        {
            return Errno.EINVAL;
        }

        if (request.RegionIndex >= VfioUapi.PciRomRegionIndex)
        {
            return Errno.ENODEV;
        }

        // memdup_array_user: the array must fit one kmalloc and be readable.
        ulong arrayBytes = (ulong)request.NrRanges * (ulong)s_rangeBytes;
        if (arrayBytes > VfioUapi.KmallocMaxSize)
        {
            return Errno.ENOMEM;
        }

        if ((ulong)(data.Length - s_dmaBufBytes) < arrayBytes)
        {
            return Errno.EFAULT;
        }

        ReadOnlySpan<VfioRegionDmaRange> ranges = MemoryMarshal.Cast<byte, VfioRegionDmaRange>(data.Slice(s_dmaBufBytes, (int)arrayBytes));
        Errno error = ValidateDmaBufInput(ranges, out ulong length);
        if (error != Errno.None)
        {
            return error;
        }

        // The later version refuses a BAR that has no resource before looking for its provider.
        if (Driver.Profile != Emulator.Topology.KernelProfile.Linux619 && Pdev.GetBar((int)request.RegionIndex) is null)
        {
            return Errno.ENODEV;
        }

        return ExportDmaBuf(process, request, ranges, length);
    }

    /// <summary><c>validate_dmabuf_input</c>: every range non-empty and page aligned; the total fits and has no bit 63.</summary>
    private static Errno ValidateDmaBufInput(ReadOnlySpan<VfioRegionDmaRange> ranges, out ulong length)
    {
        length = 0;
        foreach (VfioRegionDmaRange range in ranges)
        {
            if (range.Length == 0 || (range.Offset & (VfioUapi.PageSize - 1)) != 0 || (range.Length & (VfioUapi.PageSize - 1)) != 0)
            {
                return Errno.EINVAL;
            }

            ulong sum = unchecked(length + range.Length);
            if (sum < length)
            {
                return Errno.EINVAL;
            }

            length = sum;
        }

        return (length & VfioUapi.DmaIovaUseSwiotlb) != 0 ? Errno.EINVAL : Errno.None;
    }

    /// <summary>EBADF when <paramref name="fd"/> is not open, ENOTTY when it is not this device's file.</summary>
    private Errno CheckDeviceFile(Process process, int fd)
    {
        OpenFile? file = process.Fget(fd);
        if (file is null)
        {
            return Errno.EBADF;
        }

        bool ours = ReferenceEquals(file.PrivateData, this) && file.Ops is VfioDeviceFileOps;
        file.Put();
        return ours ? Errno.None : Errno.ENOTTY;
    }
}
