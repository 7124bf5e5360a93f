using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using P2pEmu.Drivers.Pci;
using P2pEmu.Emulator.Fabric;

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
    /// <summary>The MSI-X table entries in use and their handlers; created at probe.</summary>
    private readonly MsixVectors _vectors;

    /// <summary>The queues each table entry's handler reaps, by entry; replaced whole whenever the queues change.</summary>
    private NvmeQueue[][] _irqQueues = [];

    /// <summary>
    /// The interrupt messages in use, by MSI-X table entry (<c>pci_irq_vector</c>): entry 0 is the admin queue's, entry
    /// <i>n</i> the one of the I/O queues whose <see cref="NvmeQueue.CqVector"/> is <i>n</i>. Empty when the driver polls.
    /// </summary>
    public IReadOnlyList<MsiMsg> IrqVectors => [.. _vectors.Messages];

    /// <summary>
    /// <c>pci_alloc_irq_vectors(pdev, 1, count, PCI_IRQ_MSIX)</c> growing the set, with <see cref="NvmeIrq"/> on each entry.
    /// </summary>
    /// <returns>How many entries are in use now; 0 when the function has no MSI-X (the driver polls).</returns>
    private int AllocIrqVectors(int count) =>
        _vectors.Grow(count, NvmeIrq, entry => Info(string.Create(CultureInfo.InvariantCulture, $"no interrupt vector left for MSI-X entry {entry}")));

    /// <summary>
    /// <c>pci_free_irq_vectors</c>: masks every entry, disables MSI-X and frees the vectors, so a late message is
    /// spurious and no handler runs once this returns.
    /// </summary>
    private void FreeIrqVectors()
    {
        Volatile.Write(ref _irqQueues, []);
        _vectors.Free();
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
        var byEntry = new NvmeQueue[_vectors.Count][];
        for (int entry = 0; entry < byEntry.Length; entry++)
        {
            byEntry[entry] = _queues.FindAll(q => q.CqVector == entry).ToArray();
        }

        Volatile.Write(ref _irqQueues, byEntry);
    }
}
