using System;
using System.Collections.Generic;
using System.Threading;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Dma.Userspace;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Drivers.Vfio;

/// <summary>
/// Linux <c>struct vfio_pci_core_device</c>: one PCI function bound to vfio-pci. Users open it (a device file),
/// write its command register through the config region, reset it, and export BAR ranges as dma-bufs; every path
/// that stops the BARs decoding revokes those buffers first (spec §1.6, §5.7).
/// </summary>
/// <remarks>
/// <para>
/// Lock order: <c>memory_lock</c> (writers: command writes, resets, export, close) before each buffer's
/// reservation lock. References to buffer files taken while holding <c>memory_lock</c> are dropped after it is
/// released (Linux defers the release of a last <c>fput</c> the same way).
/// </para>
/// <para>
/// Registration: binding holds one reference, each open device file one, each dma-buf one until the device's close
/// revokes it or the buffer is released; unbinding drops the first and waits for the rest.
/// </para>
/// </remarks>
public sealed partial class VfioPciCoreDevice
{
    private readonly RwSemaphore _memoryLock = new();
    private readonly List<VfioPciDmaBuf> _dmabufs = new();
    private readonly object _registrationGate = new();
    private readonly Lock _openLock = new();
    private int _registration = 1;
    private bool _unregistering;
    private int _openCount;

    internal VfioPciCoreDevice(VfioPciDriver driver, PciEndpoint pdev)
    {
        Driver = driver;
        Pdev = pdev;
    }

    public VfioPciDriver Driver { get; }

    /// <summary>The PCI function.</summary>
    public PciEndpoint Pdev { get; }

    public DmaBufHost DmaBufs => Driver.DmaBufs;

    /// <summary>Open device files.</summary>
    public int OpenCount
    {
        get
        {
            lock (_openLock)
            {
                return _openCount;
            }
        }
    }

    /// <summary>References to the registration (binding, open files, dma-bufs); 0 once unbound.</summary>
    public int RegistrationCount
    {
        get
        {
            lock (_registrationGate)
            {
                return _registration;
            }
        }
    }

    /// <summary>
    /// <c>__vfio_pci_memory_enabled</c>: the function decodes memory (a VF always does as far as its command register
    /// goes: its BARs are enabled through the PF).
    /// </summary>
    public bool MemoryEnabled => Pdev.IsVirtualFunction || Pdev.MemorySpaceEnabled;

    /// <summary>The dma-bufs on the device's list (live or revoked, not yet cleaned up).</summary>
    public IReadOnlyList<VfioPciDmaBuf> DmaBufList
    {
        get
        {
            lock (_dmabufs)
            {
                return _dmabufs.ToArray();
            }
        }
    }

    /// <summary>
    /// Opens the device for <paramref name="process"/>: a new device file with a descriptor. The first open enables
    /// the function (<c>vfio_pci_core_enable</c>: memory decode on); bus mastering is the user's to enable.
    /// </summary>
    /// <returns>The descriptor; ENODEV when the device is being unbound; EMFILE.</returns>
    public Result<int> Open(Process process, int flags = Process.OCloexec)
    {
        ArgumentNullException.ThrowIfNull(process);
        if (!TryGetRegistration())
        {
            return Errno.ENODEV;
        }

        lock (_openLock)
        {
            if (_openCount++ == 0)
            {
                _memoryLock.DownWrite();
                Pdev.Config.Write16(PciConfig.Command, (ushort)(Pdev.Config.Read16(PciConfig.Command) | PciConfig.CommandMemory));
                _memoryLock.UpWrite();
            }
        }

        var file = new OpenFile(VfioDeviceFileOps.Instance, this, flags);
        Result<int> fd = process.FdInstall(file, flags);
        if (!fd.IsSuccess)
        {
            file.Put();
        }

        return fd;
    }

    public override string ToString() => $"vfio {Pdev}";

    /// <summary>The device file's release: the last close disables the device; the file's registration reference goes.</summary>
    internal void ReleaseFile()
    {
        lock (_openLock)
        {
            if (--_openCount == 0)
            {
                CloseDevice();
            }
        }

        PutRegistration();
    }

    /// <summary><c>vfio_device_try_get_registration</c>: a reference unless the registration already reached zero.</summary>
    internal bool TryGetRegistration()
    {
        lock (_registrationGate)
        {
            if (_registration == 0)
            {
                return false;
            }

            _registration++;
            return true;
        }
    }

    /// <summary><c>vfio_device_put_registration</c>.</summary>
    internal void PutRegistration()
    {
        lock (_registrationGate)
        {
            if (--_registration == 0)
            {
                Monitor.PulseAll(_registrationGate);
            }
        }
    }

    /// <summary>Drops the binding's reference once and waits for the others to go.</summary>
    internal bool Unregister(TimeSpan timeout)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        lock (_registrationGate)
        {
            if (!_unregistering)
            {
                _unregistering = true;
                if (--_registration == 0)
                {
                    return true;
                }
            }

            while (_registration != 0)
            {
                TimeSpan left = timeout - System.Diagnostics.Stopwatch.GetElapsedTime(start);
                if (left <= TimeSpan.Zero || !Monitor.Wait(_registrationGate, left))
                {
                    return _registration == 0;
                }
            }

            return true;
        }
    }

    /// <summary>Runs <paramref name="body"/> with <c>memory_lock</c> held for reading (a fault handler, a BAR access).</summary>
    internal bool WithMemoryReadLock(Func<bool> body)
    {
        _memoryLock.DownRead();
        try
        {
            return body();
        }
        finally
        {
            _memoryLock.UpRead();
        }
    }

    /// <summary>
    /// <c>vfio_pci_core_close_device</c>: the dma-bufs are revoked for good and taken off the list, then
    /// <c>vfio_pci_core_disable</c> stops the function decoding and mastering.
    /// </summary>
    private void CloseDevice()
    {
        CleanupDmaBufs();
        _memoryLock.DownWrite();
        Pdev.Config.Write16(PciConfig.Command, (ushort)(Pdev.Config.Read16(PciConfig.Command) & ~(PciConfig.CommandMemory | PciConfig.CommandMaster)));
        _memoryLock.UpWrite();
    }
}
