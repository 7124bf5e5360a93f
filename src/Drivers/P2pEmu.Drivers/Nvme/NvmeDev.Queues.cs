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
    /// <c>nvme_setup_io_queues</c>: asks for <see cref="NvmeDriverOptions.IoQueueCount"/> pairs, applies the CMB depth
    /// rule (falling back to host-memory SQs when it says no), allocates and creates the queues — a failed create
    /// stops there and the driver goes on with fewer — and sets up blk-mq over them.
    /// </summary>
    private Errno SetupIoQueues()
    {
        int wanted = Math.Clamp(_options.IoQueueCount, 1, 65535);
        Result<int> granted = SetQueueCount(wanted);
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
            if (AllocQueue((ushort)qid, QueueDepth, out _) != Errno.None)
            {
                break;
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
        for (int i = 0; i < online; i++)
        {
            TagSet.HwQueues[i].DriverData = _queues[i + 1];
            _queues[i + 1].Hctx = TagSet.HwQueues[i];
        }

        Info(string.Create(CultureInfo.InvariantCulture, $"{online}/0/0 default/read/poll queues"));
        return Errno.None;
    }
}
