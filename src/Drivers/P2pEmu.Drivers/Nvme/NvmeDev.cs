using System;
using System.Collections.Generic;
using System.Threading;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Drivers.Pci;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Drivers.Nvme;

/// <summary>
/// The NVMe PCI host driver's per-controller state (Linux <c>struct nvme_dev</c> with its <c>nvme_ctrl</c>): it
/// brings the controller up through configuration space and BAR0 MMIO only, registers its controller memory buffer
/// as P2P memory (spec §7.1), creates the admin and I/O queues, discovers the namespaces and gives each a disk, and
/// carries block I/O — from host pages or P2P pages (spec §3.4) — as PRP-described commands whose completions it
/// reaps by phase tag.
/// </summary>
/// <remarks>
/// <para>
/// What the driver touches is what a kernel driver touches: the function's config space, MMIO through the root
/// complex, host pages from the page allocator and the DMA API (<see cref="DmaApi"/>: coherent queue memory,
/// data mappings), and the P2PDMA core. It never sees the controller model.
/// </para>
/// <para>
/// Completions are found by phase tag, by one reap function that the MSI-X interrupt handler runs (one vector for the
/// admin queue and one per I/O queue) and a poller runs for poll queues (<see cref="IBlkMqOps.Poll(BlkMqHwCtx, IoCompBatch)"/>) or when the
/// function has no MSI-X. Time is counted in polls or interrupt waits (<see cref="NvmeDriverOptions"/>), so the
/// outcome of a deterministic run never depends on the wall clock.
/// </para>
/// <para>
/// Thread safety: probe and remove run on one thread; I/O may be submitted from any thread, and the interrupt handler
/// runs on whichever thread delivered the interrupt (see <see cref="NvmeQueue"/> for the lock order).
/// </para>
/// </remarks>
public sealed partial class NvmeDev : IBlkMqOps
{
    /// <summary><c>NVME_AQ_DEPTH</c>: admin queue entries.</summary>
    public const int AdminQueueDepth = 32;

    /// <summary><c>NVME_CTRL_PAGE_SIZE</c>: the controller memory page size the driver uses (CC.MPS 0).</summary>
    public const int CtrlPageSize = 4096;

    /// <summary><c>NVME_MAX_SEGS</c>.</summary>
    public const int MaxSegs = 128;

    /// <summary><c>NVME_MAX_KB_SZ</c>: the largest request the driver takes, in KiB.</summary>
    public const uint MaxKbSz = 8192;

    private readonly DmaApi _dma;
    private readonly CpuAccess _cpu;
    private readonly NvmeDriverOptions _options;
    private readonly List<string> _log = new();
    private readonly List<NvmeQueue> _queues = new();
    private readonly List<NvmeNs> _namespaces = new();
    private readonly Lock _adminLock = new();
    private readonly Action<NvmeQueue, NvmeCompletion> _handleIoCqe;
    private readonly Action<IoCompBatch> _completeBatch;
    private readonly Action<NvmeQueue, NvmeCompletion> _handleAdminCqe;

    /// <summary>Guards the admin command in flight (<see cref="_adminWaitId"/>, <see cref="_adminCqe"/>); its waiter sleeps on it.</summary>
    private readonly object _adminGate = new();
    private NvmeDmaPool? _prpPool;
    private int _state;
    private ushort _adminCommandId;
    private ushort _adminWaitId;
    private NvmeCompletion? _adminCqe;

    private NvmeDev(PciEndpoint pdev, int instance, DmaApi dma, NvmeDriverOptions options)
    {
        Pdev = pdev;
        Instance = instance;
        Name = $"nvme{instance}";
        _dma = dma;
        _options = options;
        _cpu = new CpuAccess(dma.Fabric);
        _vectors = new MsixVectors(pdev, _cpu, dma.Fabric.Msi);
        DmaDev = dma.GetDevice(pdev);
        _handleIoCqe = HandleIoCqe;
        _completeBatch = PciCompleteBatch;
        _handleAdminCqe = HandleAdminCqe;
    }

    /// <summary>The PCI function the driver is bound to.</summary>
    public PciEndpoint Pdev { get; }

    /// <summary>The controller instance (<c>nvme%d</c>).</summary>
    public int Instance { get; }

    /// <summary>"nvme0", "nvme1", …</summary>
    public string Name { get; }

    /// <summary>The controller's DMA device (<c>dev-&gt;dev</c>).</summary>
    public DmaDevice DmaDev { get; }

    /// <summary>The <c>struct device</c> P2PDMA sees for the controller.</summary>
    public Device Device => DmaDev.Device;

    public NvmeCtrlState State
    {
        get => (NvmeCtrlState)Volatile.Read(ref _state);
        private set => Volatile.Write(ref _state, (int)value);
    }

    /// <summary>CAP as read at probe.</summary>
    public ulong Cap { get; private set; }

    /// <summary>Identify Controller.</summary>
    public NvmeIdCtrl? IdCtrl { get; private set; }

    /// <summary><c>dev-&gt;q_depth</c>: I/O queue entries (after the CMB rule).</summary>
    public int QueueDepth { get; private set; }

    /// <summary><c>ctrl-&gt;max_hw_sectors</c>.</summary>
    public uint MaxHwSectors { get; private set; }

    /// <summary>The admin queue (null before it exists).</summary>
    public NvmeQueue? AdminQueue => _queues.Count > 0 ? _queues[0] : null;

    /// <summary>The I/O queues, qid 1 first.</summary>
    /// <summary>I/O commands completed on the I/O queues (what IOPS counts).</summary>
    public long CompletedIo
    {
        get
        {
            long total = 0;
            for (int i = 1; i < _queues.Count; i++)
            {
                total += _queues[i].Completions;
            }

            return total;
        }
    }

    public IReadOnlyList<NvmeQueue> IoQueues => _queues.Count > 1 ? _queues.GetRange(1, _queues.Count - 1) : Array.Empty<NvmeQueue>();

    /// <summary>The blk-mq tag set over the I/O queues (null without I/O queues).</summary>
    public BlkMqTagSet? TagSet { get; private set; }

    /// <summary>The active namespaces, in scan order.</summary>
    public IReadOnlyList<NvmeNs> Namespaces => _namespaces;

    /// <summary>What the driver printed (<c>dev_warn</c>/<c>dev_err</c>/<c>dev_info</c> lines, as dmesg shows them).</summary>
    public IReadOnlyList<string> KernelLog
    {
        get
        {
            lock (_log)
            {
                return _log.ToArray();
            }
        }
    }

    private PcieFabric Fabric => _dma.Fabric;

    private P2pDmaHost P2p => _dma.P2p;

    private ulong Bar0 => Pdev.GetBar(0)!.Address;

    public override string ToString() => $"{Name} ({Pdev.Address}, {State})";

    /// <summary>
    /// <c>nvme_probe</c> + <c>nvme_reset_work</c>: enables the function, maps the CMB, sets up the admin queue and
    /// enables the controller, identifies it, creates the I/O queues and scans the namespaces.
    /// </summary>
    /// <returns>The live controller; ENODEV when the function has no BAR0, reads all-ones or never becomes ready;
    /// ENOMEM when queue memory runs out; ETIMEDOUT or EIO when an admin command times out or fails.</returns>
    internal static Result<NvmeDev> Probe(PciEndpoint pdev, int instance, DmaApi dma, NvmeDriverOptions options)
    {
        var dev = new NvmeDev(pdev, instance, dma, options);
        Errno error = dev.ProbeSteps();
        if (error != Errno.None)
        {
            dev.Info($"probe failed: {error}");
            dev.Teardown(shutdown: false);
            return error;
        }

        dev.State = NvmeCtrlState.Live;
        return Result.Ok(dev);
    }

    /// <summary>
    /// <c>nvme_remove</c>: removes the disks, deletes the I/O queues, shuts the controller down (CC.SHN), frees the
    /// queue memory and the CMB SQs, unpublishes the CMB and clears Bus Master; then the device-managed P2PDMA
    /// resources go as devres releases them after remove() (<see cref="P2pDmaHost.RemoveProvider(PciFunction)"/>):
    /// every user mapping of the CMB's <c>allocate</c> file is zapped, and the call blocks until every page of the
    /// CMB is freed and unpinned — as unbinding blocks in Linux while an O_DIRECT into the CMB is in flight.
    /// </summary>
    internal void Remove()
    {
        if (State is NvmeCtrlState.Deleted)
        {
            return;
        }

        bool live = State == NvmeCtrlState.Live;
        State = NvmeCtrlState.Deleting;
        foreach (NvmeNs ns in _namespaces)
        {
            ns.Disk.Remove();
        }

        Teardown(shutdown: live);
        P2p.RemoveProvider(Pdev); // ENODEV: the CMB was never registered, nothing to release.
    }

    private Errno ProbeSteps()
    {
        Errno error = PciEnable();
        if (error == Errno.None)
        {
            error = ConfigureAdminQueue();
        }

        if (error == Errno.None)
        {
            error = InitCtrlFinish();
        }

        if (error == Errno.None)
        {
            error = SetupIoQueues();
        }

        if (error == Errno.None)
        {
            error = ScanNamespaces();
        }

        return error;
    }

    /// <summary>
    /// <c>nvme_dev_disable</c> and the frees of remove: a live controller gets its I/O queues deleted and a normal
    /// shutdown; one that is not live but was enabled is disabled (CC.EN = 0), so it stops using the queue memory
    /// before that is freed. Then the interrupt vectors go, the queues stop taking commands and reaps, whatever is
    /// still in flight fails (Host Aborted: EIO), and the queue memory is freed.
    /// </summary>
    private void Teardown(bool shutdown)
    {
        if (shutdown)
        {
            DeleteIoQueues();
            DisableCtrl(shutdown: true);
        }
        else if ((_ctrlConfig & NvmeReg.CcEnable) != 0)
        {
            DisableCtrl(shutdown: false);
        }

        FreeIrqVectors();
        foreach (NvmeQueue queue in _queues)
        {
            queue.Disable();
        }

        FailInflight(NvmeStatusCode.HostAbortedCmd);
        foreach (NvmeQueue queue in _queues)
        {
            FreeQueue(queue);
        }

        _queues.Clear();
        _prpPool?.Destroy();
        _prpPool = null;
        ReleaseCmb();
        ushort command = Pdev.Config.Read16(PciConfig.Command);
        Pdev.Config.Write16(PciConfig.Command, (ushort)(command & ~PciConfig.CommandMaster));
        State = NvmeCtrlState.Deleted;
    }

    private void Info(string message) => LogLine($"nvme {Name}: {message}");

    private void LogLine(string line)
    {
        lock (_log)
        {
            _log.Add(line);
        }
    }
}
