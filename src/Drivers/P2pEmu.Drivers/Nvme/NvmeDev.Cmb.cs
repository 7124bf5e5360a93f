using System;
using System.Globalization;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Drivers.Nvme;

/// <content>
/// The controller memory buffer as p2pmem (spec §7.1; Linux <c>nvme_map_cmb</c>, <c>nvme_cmb_qdepth</c>,
/// <c>nvme_alloc_sq_cmds</c>, <c>nvme_release_cmb</c>).
/// </content>
public sealed partial class NvmeDev
{
    /// <summary>
    /// <c>memremap_compat_align()</c> on x86-64: a CMB is registered only when its size and its BAR's start are
    /// multiples of this (2 MiB), so a 512 KiB CMB never is.
    /// </summary>
    public const ulong MemremapCompatAlign = P2pDmaHost.SubsectionSizeBytes;

    /// <summary>The smallest queue depth worth putting SQs in the CMB for (<c>nvme_cmb_qdepth</c>).</summary>
    public const int MinCmbQueueDepth = 64;

    private int _cmbBar = -1;

    /// <summary><c>dev-&gt;cmb_size</c>: the bytes registered as p2pmem (0: no CMB in use).</summary>
    public ulong CmbSize { get; private set; }

    /// <summary><c>dev-&gt;cmbsz</c>: CMBSZ as read at probe (0: none).</summary>
    public uint Cmbsz { get; private set; }

    /// <summary><c>dev-&gt;cmbloc</c>.</summary>
    public uint Cmbloc { get; private set; }

    /// <summary><c>dev-&gt;cmb_use_sqes</c>: I/O SQs go in the CMB (the option, CMBSZ.SQS, and the depth rule allow it).</summary>
    public bool CmbUseSqes { get; private set; }

    /// <summary>
    /// <c>nvme_cmb_qdepth</c>: the I/O queue depth that lets <paramref name="nrIoQueues"/> SQs of
    /// <paramref name="entrySize"/>-byte entries share a CMB of <paramref name="cmbSize"/> bytes: unchanged when they
    /// fit; else the CMB's share per queue rounded down to 4 KiB, in entries.
    /// </summary>
    /// <returns>The depth, or ENOMEM when it would be below <see cref="MinCmbQueueDepth"/> (system-memory SQs are better then).</returns>
    /// <exception cref="ArgumentOutOfRangeException">A count or size is not positive.</exception>
    public static Result<int> NvmeCmbQdepth(ulong cmbSize, int nrIoQueues, int queueDepth, int entrySize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(nrIoQueues);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(queueDepth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(entrySize);
        const ulong Page = CtrlPageSize;
        ulong alignedBytes = ((ulong)queueDepth * (ulong)entrySize + Page - 1) / Page * Page;
        if (alignedBytes * (ulong)nrIoQueues <= cmbSize)
        {
            return Result.Ok(queueDepth);
        }

        ulong perQueue = cmbSize / (ulong)nrIoQueues / Page * Page;
        ulong depth = perQueue / (ulong)entrySize;
        return depth < MinCmbQueueDepth ? Errno.ENOMEM : Result.Ok((int)depth);
    }

    /// <summary>
    /// <c>nvme_map_cmb</c>, in the order of spec §7.1: CMBMSC.CRE first when CAP.CMBS; CMBSZ (0: none) and CMBLOC;
    /// size, offset and BAR from the size unit; give up past the BAR or when size or BAR start is not 2 MiB aligned;
    /// CMBMSC = CRE | CMSE | bus address; <c>pci_p2pdma_add_resource</c> (on failure warn and clear CMBMSC); publish
    /// only with both RDS and WDS.
    /// </summary>
    private void MapCmb()
    {
        if (CmbSize != 0)
        {
            return;
        }

        bool cmbs = NvmeReg.CapCmbs(Cap);
        if (cmbs)
        {
            _cpu.Writel(Bar0 + NvmeReg.Cmbmsc, (uint)NvmeReg.CmbmscCre);
        }

        Cmbsz = _cpu.Readl(Bar0 + NvmeReg.Cmbsz);
        if (Cmbsz == 0)
        {
            return;
        }

        Cmbloc = _cpu.Readl(Bar0 + NvmeReg.Cmbloc);
        ulong unit = NvmeReg.CmbSizeUnit(Cmbsz);
        ulong size = unit * NvmeReg.CmbSizeUnits(Cmbsz);
        ulong offset = unit * NvmeReg.CmbOffsetUnits(Cmbloc);
        int bar = NvmeReg.CmbBir(Cmbloc);
        PciBar? resource = bar < P2pDmaHost.StdNumBars ? Pdev.GetBar(bar) : null;
        ulong barSize = resource?.SizeBytes ?? 0;
        ulong barStart = resource?.Address ?? 0;
        if (offset > barSize || bar >= P2pDmaHost.StdNumBars)
        {
            return;
        }

        // A controller may claim more than its BAR holds (behind a bridge, say): use what the BAR has.
        size = Math.Min(size, barSize - offset);
        if ((size & (MemremapCompatAlign - 1)) != 0 || (barStart & (MemremapCompatAlign - 1)) != 0)
        {
            return;
        }

        if (cmbs)
        {
            _cpu.HiLoWriteq(Bar0 + NvmeReg.Cmbmsc, NvmeReg.CmbmscCre | NvmeReg.CmbmscCmse | (barStart + offset));
        }

        Errno error = P2p.PciP2pdmaAddResource(Pdev, bar, size, offset);
        if (error != Errno.None)
        {
            Info("failed to register the CMB");
            _cpu.HiLoWriteq(Bar0 + NvmeReg.Cmbmsc, 0);
            return;
        }

        CmbSize = size;
        _cmbBar = bar;
        CmbUseSqes = _options.UseCmbSqes && (Cmbsz & NvmeReg.CmbszSqs) != 0;
        if ((Cmbsz & (NvmeReg.CmbszWds | NvmeReg.CmbszRds)) == (NvmeReg.CmbszWds | NvmeReg.CmbszRds))
        {
            P2p.PciP2pmemPublish(Pdev, true);
        }

        Info(string.Create(CultureInfo.InvariantCulture, $"CMB: {size >> 10} KiB at BAR{bar}+0x{offset:x}{(CmbUseSqes ? ", I/O SQs in the CMB" : string.Empty)}"));
    }

    /// <summary>
    /// <c>nvme_alloc_sq_cmds</c> for an I/O queue with CMB SQs: p2pmem from the CMB, given to the controller as a bus
    /// address (<c>pci_p2pmem_virt_to_bus</c>: the controller reaches its own CMB, no IOVA). False when it does not work
    /// out (the caller falls back to host memory).
    /// </summary>
    private bool TryAllocCmbSq(NvmeQueue queue)
    {
        if (queue.Qid == 0 || !CmbUseSqes || (Cmbsz & NvmeReg.CmbszSqs) == 0)
        {
            return false;
        }

        P2pMemory? memory = P2p.PciAllocP2pmem(Pdev, queue.SqBytes);
        if (memory is null)
        {
            return false;
        }

        ulong bus = P2p.PciP2pmemVirtToBus(Pdev, memory);
        if (bus == 0)
        {
            P2p.PciFreeP2pmem(Pdev, memory);
            return false;
        }

        queue.SqCmbMemory = memory;
        queue.SqDmaAddress = new Emulator.Addressing.DmaAddress(bus);
        queue.SqCpuAddress = Pdev.GetBar(_cmbBar)!.Address + memory.BarOffset;
        return true;
    }

    /// <summary>
    /// <c>nvme_release_cmb</c>: forgets the CMB and unpublishes it so no new user finds it; its page map and pool go
    /// with the provider's removal at the end of <see cref="Remove"/>.
    /// </summary>
    private void ReleaseCmb()
    {
        if (CmbSize == 0)
        {
            return;
        }

        P2p.PciP2pmemPublish(Pdev, false);
        CmbSize = 0;
        CmbUseSqes = false;
    }
}
