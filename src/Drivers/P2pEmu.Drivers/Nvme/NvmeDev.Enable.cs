using System.Globalization;
using System.Threading;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Drivers.Nvme;

/// <content>
/// Bring-up and shutdown through config space and BAR0 (Linux <c>nvme_pci_enable</c>,
/// <c>nvme_pci_configure_admin_queue</c>, <c>nvme_enable_ctrl</c>, <c>nvme_disable_ctrl</c>, <c>nvme_wait_ready</c>).
/// </content>
public sealed partial class NvmeDev
{
    /// <summary><c>shutdown_timeout</c> (5 s) in CAP.TO units of 500 ms.</summary>
    private const uint ShutdownTimeoutUnits = 10;

    private uint _ctrlConfig;
    private int _dbStride = 1;

    /// <summary>
    /// <c>pci_enable_device_mem</c>, <c>pci_set_master</c>, <c>nvme_dev_map</c> and <c>nvme_pci_enable</c>: Memory Space
    /// and Bus Master on, CAP read (all-ones: the device is gone), the I/O queue depth and doorbell stride from CAP, the
    /// CMB mapped, and one MSI-X vector for the admin queue (none without MSI-X: the driver polls).
    /// </summary>
    private Errno PciEnable()
    {
        if (Pdev.GetBar(0) is null)
        {
            Info("no BAR0: not an NVMe controller we can drive");
            return Errno.ENODEV;
        }

        ushort command = Pdev.Config.Read16(PciConfig.Command);
        Pdev.Config.Write16(PciConfig.Command, (ushort)(command | PciConfig.CommandMemory | PciConfig.CommandMaster));
        DmaDev.DmaMask = ulong.MaxValue;
        if (_cpu.Readl(Bar0 + NvmeReg.Csts) == uint.MaxValue)
        {
            Info("controller registers read all-ones: device not present");
            return Errno.ENODEV;
        }

        Cap = _cpu.Readq(Bar0 + NvmeReg.Cap);
        QueueDepth = (int)System.Math.Min(NvmeReg.CapMqes(Cap) + 1, (uint)System.Math.Max(2, _options.IoQueueDepth));
        _dbStride = 1 << NvmeReg.CapStride(Cap);
        MapCmb();
        if (AllocIrqVectors(1) == 0)
        {
            Info("no MSI-X: completions are polled");
        }

        return Errno.None;
    }

    /// <summary>
    /// <c>nvme_pci_configure_admin_queue</c>: disables the controller, allocates the admin queue, programs AQA, ASQ
    /// and ACQ, and enables the controller.
    /// </summary>
    private Errno ConfigureAdminQueue()
    {
        Errno error = DisableCtrl(shutdown: false);
        if (error != Errno.None)
        {
            return error;
        }

        error = AllocQueue(0, AdminQueueDepth, out NvmeQueue? admin);
        if (error != Errno.None)
        {
            return error;
        }

        uint aqa = (uint)(AdminQueueDepth - 1) | ((uint)(AdminQueueDepth - 1) << 16);
        _cpu.Writel(Bar0 + NvmeReg.Aqa, aqa);
        _cpu.LoHiWriteq(Bar0 + NvmeReg.Asq, admin!.SqDmaAddress.Value);
        _cpu.LoHiWriteq(Bar0 + NvmeReg.Acq, admin.CqDmaAddress.Value);
        admin.CqVector = _vectors.Count > 0 ? 0 : -1; // the controller always interrupts the admin CQ on vector 0
        PublishIrqQueues();
        error = EnableCtrl();
        if (error == Errno.None)
        {
            admin.IsEnabled = true;
        }

        return error;
    }

    /// <summary>
    /// <c>nvme_enable_ctrl</c>: CC with the NVM command set, 4 KiB pages, round robin, 64/16-byte entries, then EN,
    /// then CSTS.RDY within CAP.TO.
    /// </summary>
    private Errno EnableCtrl()
    {
        int mpsMin = NvmeReg.CapMpsMin(Cap);
        if (mpsMin > 0)
        {
            Info(string.Create(CultureInfo.InvariantCulture, $"Minimum device page size {1u << (12 + mpsMin)} too large for host ({CtrlPageSize})"));
            return Errno.ENODEV;
        }

        _ctrlConfig = NvmeReg.CcCssNvm | (0u << (int)NvmeReg.CcMpsShift) | NvmeReg.CcArbRr | NvmeReg.CcIosqes | NvmeReg.CcIocqes;
        _cpu.Writel(Bar0 + NvmeReg.Cc, _ctrlConfig);

        // CAP may change after the first CC write.
        Cap = _cpu.Readq(Bar0 + NvmeReg.Cap);
        _ctrlConfig |= NvmeReg.CcEnable;
        _cpu.Writel(Bar0 + NvmeReg.Cc, _ctrlConfig);
        return WaitReady(NvmeReg.CstsRdy, NvmeReg.CstsRdy, NvmeReg.CapTimeout(Cap), "initialisation");
    }

    /// <summary>
    /// <c>nvme_disable_ctrl</c>: with <paramref name="shutdown"/>, a normal shutdown (CC.SHN = 01b, wait for
    /// CSTS.SHST complete); otherwise CC.EN = 0 and wait for CSTS.RDY = 0.
    /// </summary>
    private Errno DisableCtrl(bool shutdown)
    {
        _ctrlConfig &= ~NvmeReg.CcShnMask;
        if (shutdown)
        {
            _ctrlConfig |= NvmeReg.CcShnNormal;
        }
        else
        {
            _ctrlConfig &= ~NvmeReg.CcEnable;
        }

        _cpu.Writel(Bar0 + NvmeReg.Cc, _ctrlConfig);
        return shutdown
            ? WaitReady(NvmeReg.CstsShstMask, NvmeReg.CstsShstCmplt, ShutdownTimeoutUnits, "shutdown")
            : WaitReady(NvmeReg.CstsRdy, 0, NvmeReg.CapTimeout(Cap), "reset");
    }

    /// <summary>
    /// <c>nvme_wait_ready</c>: polls CSTS until <c>(CSTS &amp; mask) == value</c>, for (<paramref name="timeoutUnits"/> + 1)
    /// half seconds counted as <see cref="NvmeDriverOptions.ReadyPollsPerTimeoutUnit"/> polls each.
    /// </summary>
    /// <returns>None; ENODEV when CSTS reads all-ones (gone) or the time runs out ("Device not ready; aborting …").</returns>
    private Errno WaitReady(uint mask, uint value, uint timeoutUnits, string operation)
    {
        long polls = (timeoutUnits + 1L) * System.Math.Max(1, _options.ReadyPollsPerTimeoutUnit);
        uint csts = 0;
        var spinner = default(SpinWait);
        for (long i = 0; i < polls; i++)
        {
            csts = _cpu.Readl(Bar0 + NvmeReg.Csts);
            if (csts == uint.MaxValue)
            {
                return Errno.ENODEV;
            }

            if ((csts & mask) == value)
            {
                return Errno.None;
            }

            spinner.SpinOnce(sleep1Threshold: -1);
        }

        Info(string.Create(CultureInfo.InvariantCulture, $"Device not ready; aborting {operation}, CSTS=0x{csts:x}"));
        return Errno.ENODEV;
    }
}
