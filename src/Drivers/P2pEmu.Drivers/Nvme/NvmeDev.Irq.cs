using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Drivers.Nvme;

/// <content>
/// MSI-X interrupts (Linux <c>pci_alloc_irq_vectors</c> with <c>msix_capability_init</c>, <c>nvme_setup_irqs</c>,
/// <c>queue_request_irq</c>, <c>nvme_irq</c>, <c>pci_free_irq_vectors</c>): table entry <i>n</i> carries vector
/// <i>n</i>, entry 0 for the admin queue and one per interrupt-driven I/O queue; each entry is programmed through BAR0
/// with a message the machine's interrupt controller (<see cref="PcieFabric.Msi"/>) allocated, and its handler reaps
/// the queues on that vector.
/// </content>
public sealed partial class NvmeDev
{
    /// <summary>The messages programmed into the MSI-X table, by entry.</summary>
    private readonly List<MsiMsg> _irqs = new();

    private ulong _msixTable;

    /// <summary>The queues each table entry's handler reaps, by entry; replaced whole whenever the queues change.</summary>
    private NvmeQueue[][] _irqQueues = [];

    /// <summary>
    /// The interrupt messages in use, by MSI-X table entry (<c>pci_irq_vector</c>): entry 0 is the admin queue's, entry
    /// <i>n</i> the one of the I/O queues whose <see cref="NvmeQueue.CqVector"/> is <i>n</i>. Empty when the driver polls.
    /// </summary>
    public IReadOnlyList<MsiMsg> IrqVectors => _irqs.ToArray();

    private MsiController Msi => Fabric.Msi;

    /// <summary>
    /// <c>pci_alloc_irq_vectors(pdev, 1, count, PCI_IRQ_MSIX)</c> growing the set: programs table entries up to
    /// <paramref name="count"/> − 1 that are not programmed yet — the first call enables MSI-X with every vector
    /// masked by Function Mask, as <c>msix_capability_init</c> does, and clears it once entry 0 is set — and
    /// installs their handlers. Stops early when the table or the interrupt controller runs out.
    /// </summary>
    /// <returns>How many entries are in use now; 0 when the function has no MSI-X (the driver polls).</returns>
    private int AllocIrqVectors(int count)
    {
        int cap = Pdev.MsiXCapabilityOffset;
        if (cap == 0)
        {
            return 0;
        }

        int tableSize = (Pdev.Config.Read16(cap + MsiXConfig.Flags) & MsiXConfig.FlagsQsize) + 1;
        bool first = _irqs.Count == 0;
        if (first)
        {
            uint table = Pdev.Config.Read32(cap + MsiXConfig.Table);
            PciBar? bar = Pdev.GetBar((int)(table & MsiXConfig.BirMask));
            if (bar is null)
            {
                return 0;
            }

            _msixTable = bar.Address + (table & MsiXConfig.OffsetMask);
            WriteMsixControl(MsiXConfig.FlagsEnable | MsiXConfig.FlagsMaskAll);
        }

        while (_irqs.Count < Math.Min(count, tableSize))
        {
            Result<MsiMsg> message = Msi.Allocate();
            if (!message.IsSuccess)
            {
                Info(string.Create(CultureInfo.InvariantCulture, $"no interrupt vector left for MSI-X entry {_irqs.Count}"));
                break;
            }

            int entry = _irqs.Count;
            ulong at = _msixTable + ((ulong)entry * MsiXConfig.EntrySize);
            _cpu.Writel(at + MsiXConfig.EntryVectorControl, MsiXConfig.EntryCtrlMaskBit);
            _cpu.Writel(at + MsiXConfig.EntryLowerAddress, message.Value.AddressLo);
            _cpu.Writel(at + MsiXConfig.EntryUpperAddress, message.Value.AddressHi);
            _cpu.Writel(at + MsiXConfig.EntryData, message.Value.Data);
            _irqs.Add(message.Value);
            Msi.SetHandler(message.Value, _ => NvmeIrq(entry));
            _cpu.Writel(at + MsiXConfig.EntryVectorControl, 0); // request_irq: unmasked
        }

        if (_irqs.Count == 0)
        {
            WriteMsixControl(0);
            return 0;
        }

        if (first)
        {
            WriteMsixControl(MsiXConfig.FlagsEnable);
        }

        return _irqs.Count;
    }

    /// <summary>
    /// <c>pci_free_irq_vectors</c>: masks every entry, disables MSI-X and frees the vectors, so a late message is
    /// spurious and no handler runs once this returns.
    /// </summary>
    private void FreeIrqVectors()
    {
        Volatile.Write(ref _irqQueues, []);
        if (_irqs.Count == 0)
        {
            return;
        }

        for (int entry = 0; entry < _irqs.Count; entry++)
        {
            _cpu.Writel(_msixTable + ((ulong)entry * MsiXConfig.EntrySize) + MsiXConfig.EntryVectorControl, MsiXConfig.EntryCtrlMaskBit);
        }

        WriteMsixControl(0);
        foreach (MsiMsg message in _irqs)
        {
            Msi.SetHandler(message, null);
            Msi.Free(message);
        }

        _irqs.Clear();
    }

    private void WriteMsixControl(ushort flags)
    {
        int control = Pdev.MsiXCapabilityOffset + MsiXConfig.Flags;
        ushort value = Pdev.Config.Read16(control);
        Pdev.Config.Write16(control, (ushort)((value & ~(MsiXConfig.FlagsEnable | MsiXConfig.FlagsMaskAll)) | flags));
    }

    /// <summary>
    /// <c>nvme_irq</c> for table entry <paramref name="entry"/>: reaps every queue that interrupts on it (the admin queue
    /// on entry 0; all queues when they share one vector). Runs on the thread that delivered the message: inside the
    /// doorbell write of a deterministic machine, on the controller's thread of a concurrent one.
    /// </summary>
    private void NvmeIrq(int entry)
    {
        NvmeQueue[][] byEntry = Volatile.Read(ref _irqQueues);
        if (entry >= byEntry.Length)
        {
            return; // a queue being set up or torn down: its completions are found by the waiter's last poll
        }

        foreach (NvmeQueue queue in byEntry[entry])
        {
            if (queue.Qid == 0)
            {
                ReapAdminQueue(queue);
            }
            else
            {
                ReapQueue(queue);
            }
        }
    }

    /// <summary>Publishes which queues each table entry's handler reaps (call after the queues or their vectors change).</summary>
    private void PublishIrqQueues()
    {
        var byEntry = new NvmeQueue[_irqs.Count][];
        for (int entry = 0; entry < byEntry.Length; entry++)
        {
            byEntry[entry] = _queues.FindAll(q => q.CqVector == entry).ToArray();
        }

        Volatile.Write(ref _irqQueues, byEntry);
    }
}
