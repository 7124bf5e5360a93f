using System;
using System.Globalization;
using System.Threading;
using P2pEmu.Dma.Block;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Drivers.Nvme;

/// <content>
/// Synchronous admin commands on queue 0 (Linux <c>nvme_submit_sync_cmd</c>), Identify and Set Features, and the
/// queue create/delete commands.
/// </content>
public sealed partial class NvmeDev
{
    /// <summary>
    /// <c>nvme_submit_sync_cmd</c> on the admin queue: sends <paramref name="command"/> (its command identifier is
    /// assigned here) and waits for its completion — for the admin queue's interrupt, or by polling when the driver
    /// has no MSI-X. Admin commands are serialized.
    /// </summary>
    /// <returns>The status and DW0; ENODEV when the controller is dead or removed; ETIMEDOUT when no completion came
    /// within <see cref="NvmeDriverOptions.AdminTimeoutPolls"/> (a controller found failed, CSTS.CFS, is marked dead).</returns>
    public NvmeSyncResult SubmitAdminCommand(NvmeCommand command)
    {
        NvmeQueue? admin = AdminQueue;
        if (admin is null || !admin.IsEnabled || State is NvmeCtrlState.Dead or NvmeCtrlState.Deleted)
        {
            return new NvmeSyncResult(Errno.ENODEV, 0, 0);
        }

        lock (_adminLock)
        {
            ushort id = _adminCommandId++;
            command.CommandId = id;
            lock (_adminGate)
            {
                _adminWaitId = id;
                _adminCqe = null;
            }

            lock (admin.SqLock)
            {
                if (!admin.IsEnabled)
                {
                    return new NvmeSyncResult(Errno.ENODEV, 0, 0);
                }

                admin.CopyCmdAndRing(in command);
            }

            NvmeCompletion? found = WaitAdminCompletion(admin);
            if (found is NvmeCompletion cqe)
            {
                return new NvmeSyncResult(Errno.None, cqe.StatusField, cqe.Result);
            }

            uint csts = _cpu.Readl(Bar0 + NvmeReg.Csts);
            Info(string.Create(CultureInfo.InvariantCulture, $"Admin Cmd(0x{command.Opcode:x}) QID 0 timeout, CSTS=0x{csts:x}"));
            if (csts == uint.MaxValue || (csts & NvmeReg.CstsCfs) != 0)
            {
                MarkDead(csts);
            }

            return new NvmeSyncResult(Errno.ETIMEDOUT, 0, 0);
        }
    }

    /// <summary>
    /// Waits for the completion of the admin command in flight (<see cref="_adminWaitId"/>): up to
    /// <see cref="NvmeDriverOptions.AdminTimeoutPolls"/> waits for the interrupt, or polls of the admin CQ when it has
    /// no vector; then one last poll, as <c>nvme_timeout</c> checks for a missed interrupt.
    /// </summary>
    private NvmeCompletion? WaitAdminCompletion(NvmeQueue admin)
    {
        var spinner = default(SpinWait);
        for (int i = 0; i < _options.AdminTimeoutPolls; i++)
        {
            if (admin.IsPolled)
            {
                ReapAdminQueue(admin);
            }

            lock (_adminGate)
            {
                if (_adminCqe is null && !admin.IsPolled)
                {
                    Monitor.Wait(_adminGate, RequestQueue.InterruptWaitMilliseconds);
                }

                if (_adminCqe is NvmeCompletion done)
                {
                    return done;
                }
            }

            if (admin.IsPolled)
            {
                spinner.SpinOnce(RequestQueue.PollSpinsBeforeSleep);
            }
        }

        ReapAdminQueue(admin);
        lock (_adminGate)
        {
            return _adminCqe;
        }
    }

    /// <summary>Reaps the admin CQ (the poller, or the handler of MSI-X entry 0).</summary>
    private void ReapAdminQueue(NvmeQueue admin)
    {
        lock (admin.CqPollLock)
        {
            if (admin.IsEnabled)
            {
                admin.ProcessCq(_handleAdminCqe);
            }
        }
    }

    /// <summary>
    /// <c>nvme_handle_cqe</c> for the admin queue: the completion of the command in flight wakes its waiter; any other
    /// (a command that timed out earlier) is stale and dropped.
    /// </summary>
    private void HandleAdminCqe(NvmeQueue queue, NvmeCompletion cqe)
    {
        lock (_adminGate)
        {
            if (cqe.CommandId == _adminWaitId && _adminCqe is null)
            {
                _adminCqe = cqe;
                Monitor.PulseAll(_adminGate);
            }
        }
    }

    /// <summary>
    /// <c>nvme_identify</c>-style: an Identify (<paramref name="cns"/>, <paramref name="nsid"/>) into a coherent
    /// 4 KiB buffer, copied out.
    /// </summary>
    private NvmeSyncResult Identify(byte cns, uint nsid, byte[] data)
    {
        PhysAddress cpu = _dma.DmaAllocCoherent(DmaDev, NvmeIdCtrl.SizeBytes, out DmaAddress dma);
        if (cpu.Value == 0)
        {
            return new NvmeSyncResult(Errno.ENOMEM, 0, 0);
        }

        try
        {
            NvmeSyncResult result = SubmitAdminCommand(new NvmeCommand
            {
                Opcode = NvmeOpcode.AdminIdentify,
                Nsid = nsid,
                Prp1 = dma.Value,
                Cdw10 = cns,
            });
            if (result.IsSuccess)
            {
                _cpu.Read(cpu.Value, data);
            }

            return result;
        }
        finally
        {
            _dma.DmaFreeCoherent(DmaDev, NvmeIdCtrl.SizeBytes, cpu, dma);
        }
    }

    /// <summary>
    /// <c>nvme_init_ctrl_finish</c>/<c>nvme_init_identify</c>: Identify Controller, then the transfer limit from MDTS
    /// (<c>nvme_mps_to_sectors</c>) capped at <see cref="MaxKbSz"/>.
    /// </summary>
    private Errno InitCtrlFinish()
    {
        byte[] data = new byte[NvmeIdCtrl.SizeBytes];
        NvmeSyncResult result = Identify(NvmeOpcode.IdCnsCtrl, 0, data);
        if (!result.IsSuccess)
        {
            Info(string.Create(CultureInfo.InvariantCulture, $"Identify Controller failed ({(result.Error != Errno.None ? result.Error.ToString() : $"status 0x{result.Status:x}")})"));
            return result.Error != Errno.None ? result.Error : Errno.EIO;
        }

        IdCtrl = NvmeIdCtrl.Parse(data);
        uint maxHwSectors = MaxKbSz << 1;
        if (IdCtrl.Mdts != 0)
        {
            int shift = IdCtrl.Mdts + 12 + NvmeReg.CapMpsMin(Cap) - 9;
            uint mdtsSectors = shift >= 32 ? uint.MaxValue : 1u << shift;
            maxHwSectors = Math.Min(maxHwSectors, mdtsSectors);
        }

        MaxHwSectors = maxHwSectors;
        Info($"{IdCtrl.ModelNumber} {IdCtrl.SerialNumber} (firmware {IdCtrl.FirmwareRevision})");
        return Errno.None;
    }

    /// <summary>
    /// <c>nvme_set_queue_count</c>: Set Features Number of Queues for <paramref name="count"/> I/O queue pairs.
    /// </summary>
    /// <returns>The pairs granted (0 when the controller refused the feature, as Linux then goes on without I/O
    /// queues), or the error of a command that did not complete.</returns>
    private Result<int> SetQueueCount(int count)
    {
        uint q = (uint)(count - 1) | ((uint)(count - 1) << 16);
        NvmeSyncResult result = SubmitAdminCommand(new NvmeCommand { Opcode = NvmeOpcode.AdminSetFeatures, Cdw10 = NvmeOpcode.FeatNumQueues, Cdw11 = q });
        if (result.Error != Errno.None)
        {
            return result.Error;
        }

        if (result.Status != 0)
        {
            Info(string.Create(CultureInfo.InvariantCulture, $"Could not set queue count ({result.Status})"));
            return Result.Ok(0);
        }

        int granted = (int)Math.Min(result.Result & 0xFFFF, result.Result >> 16) + 1;
        return Result.Ok(Math.Min(count, granted));
    }

    /// <summary>
    /// <c>adapter_alloc_cq</c> + <c>adapter_alloc_sq</c>: Create I/O CQ (physically contiguous; with IEN and IV = its
    /// MSI-X entry, or polled) then SQ; a failed SQ deletes the CQ.
    /// </summary>
    private NvmeSyncResult CreateQueuePair(NvmeQueue queue)
    {
        uint size = (uint)queue.Qid | ((uint)(queue.Depth - 1) << 16);
        uint irq = queue.IsPolled ? 0 : NvmeOpcode.CqIrqEnabled | ((uint)queue.CqVector << 16);
        NvmeSyncResult cq = SubmitAdminCommand(new NvmeCommand
        {
            Opcode = NvmeOpcode.AdminCreateCq,
            Prp1 = queue.CqDmaAddress.Value,
            Cdw10 = size,
            Cdw11 = NvmeOpcode.QueuePhysContig | irq,
        });
        if (!cq.IsSuccess)
        {
            return cq;
        }

        NvmeSyncResult sq = SubmitAdminCommand(new NvmeCommand
        {
            Opcode = NvmeOpcode.AdminCreateSq,
            Prp1 = queue.SqDmaAddress.Value,
            Cdw10 = size,
            Cdw11 = NvmeOpcode.QueuePhysContig | ((uint)queue.Qid << 16),
        });
        if (!sq.IsSuccess)
        {
            DeleteQueue(NvmeOpcode.AdminDeleteCq, queue.Qid);
        }

        return sq;
    }

    private NvmeSyncResult DeleteQueue(byte opcode, ushort qid) =>
        SubmitAdminCommand(new NvmeCommand { Opcode = opcode, Cdw10 = qid });

    /// <summary><c>nvme_delete_io_queues</c>: every SQ, then every CQ, newest first.</summary>
    private void DeleteIoQueues()
    {
        for (int i = _queues.Count - 1; i >= 1; i--)
        {
            if (_queues[i].IsEnabled)
            {
                DeleteQueue(NvmeOpcode.AdminDeleteSq, _queues[i].Qid);
            }
        }

        for (int i = _queues.Count - 1; i >= 1; i--)
        {
            if (_queues[i].IsEnabled)
            {
                DeleteQueue(NvmeOpcode.AdminDeleteCq, _queues[i].Qid);
                _queues[i].IsEnabled = false;
            }
        }
    }
}
