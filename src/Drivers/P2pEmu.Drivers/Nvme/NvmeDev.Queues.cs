using System;
using System.Globalization;
using P2pEmu.Dma.Block;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Drivers.Nvme;

/// <content>Queue memory and the I/O queues (Linux <c>nvme_alloc_queue</c>, <c>nvme_free_queue</c>, <c>nvme_setup_io_queues</c>, <c>nvme_create_io_queues</c>).</content>
public sealed partial class NvmeDev
{
    /// <summary>
    /// <c>nvme_alloc_queue</c>: the CQ in coherent host memory; the SQ in the CMB (I/O queues with CMB SQs) or in
    /// coherent host memory; doorbells from the stride.
    /// </summary>
    private Errno AllocQueue(ushort qid, int depth, out NvmeQueue? queue)
    {
        ulong sqDoorbell = Bar0 + NvmeReg.Dbs + ((ulong)qid * 2 * (ulong)_dbStride * 4);
        var q = new NvmeQueue(_cpu, qid, depth, sqDoorbell, sqDoorbell + ((ulong)_dbStride * 4));
        queue = null;
        PhysAddress cq = _dma.DmaAllocCoherent(DmaDev, q.CqBytes, out DmaAddress cqDma);
        if (cq.Value == 0)
        {
            return Errno.ENOMEM;
        }

        q.CqCpuAddress = cq.Value;
        q.CqDmaAddress = cqDma;
        if (!TryAllocCmbSq(q))
        {
            PhysAddress sq = _dma.DmaAllocCoherent(DmaDev, q.SqBytes, out DmaAddress sqDma);
            if (sq.Value == 0)
            {
                _dma.DmaFreeCoherent(DmaDev, q.CqBytes, cq, cqDma);
                return Errno.ENOMEM;
            }

            q.SqCpuAddress = sq.Value;
            q.SqDmaAddress = sqDma;
        }

        _queues.Add(q);
        queue = q;
        return Errno.None;
    }

    /// <summary><c>nvme_free_queue</c>: the CQ's coherent memory; the SQ's CMB p2pmem or coherent memory.</summary>
    private void FreeQueue(NvmeQueue queue)
    {
        _dma.DmaFreeCoherent(DmaDev, queue.CqBytes, new PhysAddress(queue.CqCpuAddress), queue.CqDmaAddress);
        if (queue.SqCmbMemory is not null)
        {
            P2p.PciFreeP2pmem(Pdev, queue.SqCmbMemory);
            queue.SqCmbMemory = null;
        }
        else
        {
            _dma.DmaFreeCoherent(DmaDev, queue.SqBytes, new PhysAddress(queue.SqCpuAddress), queue.SqDmaAddress);
        }
    }

    /// <summary>
    /// <c>nvme_setup_io_queues</c>: asks for <see cref="NvmeDriverOptions.IoQueueCount"/> interrupt-driven plus
    /// <see cref="NvmeDriverOptions.PollQueues"/> polled pairs, splits what the controller grants (poll queues give way
    /// first, keeping one interrupt-driven queue when any was asked for), gives each interrupt-driven queue an MSI-X
    /// vector (<c>nvme_setup_irqs</c>: fewer queues when fewer vectors come, all on vector 0 when only one does, all
    /// polled without MSI-X), applies the CMB depth rule (falling back to host-memory SQs when it says no), allocates
    /// and creates the queues — a failed create stops there and the driver goes on with fewer — and sets up blk-mq.
    /// </summary>
    private Errno SetupIoQueues()
    {
        int interruptQueues = Math.Clamp(_options.IoQueueCount, 0, 65535);
        int pollQueues = Math.Clamp(_options.PollQueues, 0, 65535 - interruptQueues);
        if (interruptQueues + pollQueues == 0)
        {
            interruptQueues = 1;
        }

        Result<int> granted = SetQueueCount(interruptQueues + pollQueues);
        if (!granted.IsSuccess)
        {
            return granted.Error;
        }

        int count = granted.Value;
        if (count == 0)
        {
            Info("IO queues not created");
            return Errno.None;
        }

        pollQueues = Math.Min(pollQueues, count - (interruptQueues > 0 ? 1 : 0));
        interruptQueues = count - pollQueues;
        int vectors = interruptQueues > 0 && _vectors.Count > 0 ? AllocIrqVectors(1 + interruptQueues) : 0;
        if (vectors == 0)
        {
            pollQueues += interruptQueues; // no MSI-X: every queue is polled
            interruptQueues = 0;
        }
        else if (vectors > 1)
        {
            interruptQueues = Math.Min(interruptQueues, vectors - 1);
        }

        count = interruptQueues + pollQueues;

        if (CmbUseSqes)
        {
            Result<int> depth = NvmeCmbQdepth(CmbSize, count, QueueDepth, NvmeCommand.SizeBytes);
            if (depth.IsSuccess)
            {
                QueueDepth = depth.Value;
            }
            else
            {
                CmbUseSqes = false;
                Info("CMB too small for the I/O queues: SQs stay in host memory");
            }
        }

        for (int qid = 1; qid <= count; qid++)
        {
            if (AllocQueue((ushort)qid, QueueDepth, out NvmeQueue? queue) != Errno.None)
            {
                break;
            }

            if (qid <= interruptQueues)
            {
                queue!.CqVector = vectors == 1 ? 0 : qid; // one vector: shared with the admin queue
            }
        }

        int online = 0;
        for (int i = 1; i < _queues.Count; i++)
        {
            NvmeSyncResult created = CreateQueuePair(_queues[i]);
            if (!created.IsSuccess)
            {
                Info(string.Create(CultureInfo.InvariantCulture, $"failed to create queue {i}: {(created.Error != Errno.None ? created.Error.ToString() : $"status 0x{created.Status:x}")}"));
                if (created.Error != Errno.None)
                {
                    return created.Error;
                }

                break;
            }

            _queues[i].IsEnabled = true;
            online++;
        }

        for (int i = _queues.Count - 1; i > online; i--)
        {
            FreeQueue(_queues[i]);
            _queues.RemoveAt(i);
        }

        if (online == 0)
        {
            Info("IO queues not created");
            return Errno.None;
        }

        _prpPool = new NvmeDmaPool(_dma, DmaDev);
        TagSet = new BlkMqTagSet(this, online, Math.Min(QueueDepth, 10240) - 1, Math.Max(1, _options.IoTimeoutPolls));
        int polled = 0;
        for (int i = 0; i < online; i++)
        {
            NvmeQueue queue = _queues[i + 1];
            TagSet.HwQueues[i].DriverData = queue;
            TagSet.HwQueues[i].Type = queue.IsPolled ? HctxType.Poll : HctxType.Default;
            queue.Hctx = TagSet.HwQueues[i];
            polled += queue.IsPolled ? 1 : 0;
        }

        PublishIrqQueues();
        Info(string.Create(CultureInfo.InvariantCulture, $"{online - polled}/0/{polled} default/read/poll queues"));
        return Errno.None;
    }
}
