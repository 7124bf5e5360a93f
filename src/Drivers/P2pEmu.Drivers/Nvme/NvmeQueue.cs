using System;
using System.Collections.Generic;
using System.Threading;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Drivers.Pci;
using P2pEmu.Emulator.Addressing;

namespace P2pEmu.Drivers.Nvme;

/// <summary>
/// Linux <c>struct nvme_queue</c>: one submission/completion queue pair as the driver keeps it — where the entries
/// live (host memory from <c>dma_alloc_coherent</c>, or for an I/O SQ the controller memory buffer), the addresses
/// the controller was given, the tail, head and phase, and the doorbells.
/// </summary>
/// <remarks>
/// Thread safety: submissions serialize on <c>sq_lock</c>, completion processing on <c>cq_poll_lock</c>. Lock order:
/// <see cref="SqLock"/> before <see cref="CqPollLock"/> — a deterministic controller completes inside the doorbell
/// write, so the interrupt handler reaps under the submitter's SQ lock; the completion path therefore never submits
/// under <see cref="CqPollLock"/>: a retry is queued and sent after the reap (Linux requeues from a work item too).
/// </remarks>
#pragma warning disable CA1711 // Linux's name (struct nvme_queue).
public sealed class NvmeQueue
#pragma warning restore CA1711
{
    private readonly CpuAccess _cpu;
    private readonly byte[] _genctr;
    private readonly List<Request> _requeue = new();
    private int _enabled;
    private ushort _sqTail;
    private ushort _lastSqTail;
    private ushort _cqHead;
    private bool _cqPhase = true;
    private long _completions;

    internal NvmeQueue(CpuAccess cpu, ushort qid, int depth, ulong sqDoorbell, ulong cqDoorbell)
    {
        _cpu = cpu;
        Qid = qid;
        Depth = depth;
        SqDoorbell = sqDoorbell;
        CqDoorbell = cqDoorbell;
        _genctr = new byte[depth];
    }

    /// <summary>The queue identifier (0: admin).</summary>
    public ushort Qid { get; }

    /// <summary><c>q_depth</c>: entries in each ring.</summary>
    public int Depth { get; }

    /// <summary><c>NVMEQ_SQ_CMB</c>: the SQ lives in the controller memory buffer.</summary>
    public bool SqInCmb => SqCmbMemory is not null;

    /// <summary>The SQ base the controller was given: a bus address for a CMB SQ (<c>pci_p2pmem_virt_to_bus</c>), else a DMA address.</summary>
    public DmaAddress SqDmaAddress { get; internal set; }

    /// <summary>The CQ base the controller was given.</summary>
    public DmaAddress CqDmaAddress { get; internal set; }

    /// <summary><c>NVMEQ_ENABLED</c>: created on the controller and accepting commands.</summary>
    public bool IsEnabled
    {
        get => Volatile.Read(ref _enabled) != 0;
        internal set => Volatile.Write(ref _enabled, value ? 1 : 0);
    }

    /// <summary>Completions reaped so far.</summary>
    public long Completions => Interlocked.Read(ref _completions);

    /// <summary>
    /// <c>cq_vector</c>: the MSI-X table entry the CQ interrupts on (its IV), or -1 for a polled queue (IEN clear,
    /// Linux <c>NVMEQ_POLLED</c>).
    /// </summary>
    public int CqVector { get; internal set; } = -1;

    /// <summary>Whether completions are found only by polling (no interrupt vector).</summary>
    public bool IsPolled => CqVector < 0;

    /// <summary>The blk-mq hardware queue this I/O queue serves.</summary>
    internal BlkMqHwCtx? Hctx { get; set; }

    /// <summary>Where the CPU writes SQ entries: host RAM, or the CMB's BAR (MMIO).</summary>
    internal ulong SqCpuAddress { get; set; }

    /// <summary>Where the CPU reads CQ entries (host RAM).</summary>
    internal ulong CqCpuAddress { get; set; }

    /// <summary>The p2pmem allocation of a CMB SQ.</summary>
    internal P2pMemory? SqCmbMemory { get; set; }

    internal ulong SqDoorbell { get; }

    internal ulong CqDoorbell { get; }

    internal Lock SqLock { get; } = new();

    internal Lock CqPollLock { get; } = new();

    internal ulong SqBytes => (ulong)Depth * NvmeCommand.SizeBytes;

    internal ulong CqBytes => (ulong)Depth * NvmeCompletion.SizeBytes;

    public override string ToString() => $"queue {Qid} (depth {Depth}{(SqInCmb ? ", SQ in CMB" : string.Empty)})";

    /// <summary>The poller's completion batch during a reap that has one (set and cleared under <see cref="CqPollLock"/>).</summary>
    internal IoCompBatch? PollBatch { get; set; }

    /// <summary>Requests to send again once the reap that found their completion has released <see cref="CqPollLock"/>.</summary>
    internal List<Request> Requeue => _requeue;

    /// <summary>Stops the queue: no submission gets past <see cref="SqLock"/>, no reap past <see cref="CqPollLock"/>, once this returns.</summary>
    internal void Disable()
    {
        lock (SqLock)
        {
            lock (CqPollLock)
            {
                IsEnabled = false;
            }
        }
    }

    /// <summary>The generation counter of a tag's command identifier (Linux <c>nvme_req(req)-&gt;genctr</c>).</summary>
    internal byte NextGenctr(int tag) => _genctr[tag] = (byte)((_genctr[tag] + 1) & 0xF);

    internal byte Genctr(int tag) => _genctr[tag];

    /// <summary>
    /// <c>nvme_sq_copy_cmd</c> + <c>nvme_write_sq_db(nvmeq, true)</c>: stores the entry at the tail and rings the tail
    /// doorbell. The caller holds <see cref="SqLock"/>.
    /// </summary>
    internal void CopyCmdAndRing(in NvmeCommand command) => CopyCmd(in command, ring: true);

    /// <summary>
    /// <c>nvme_sq_copy_cmd</c> + <c>nvme_write_sq_db(nvmeq, ring)</c>: stores the entry at the tail (a CMB SQ is written
    /// with <c>memcpy_toio</c>); rings the tail doorbell when <paramref name="ring"/>, or when one more unannounced entry
    /// would run the tail into the last one rung. The caller holds <see cref="SqLock"/>.
    /// </summary>
    internal void CopyCmd(in NvmeCommand command, bool ring)
    {
        _cpu.WriteStruct(SqCpuAddress + ((ulong)_sqTail * NvmeCommand.SizeBytes), in command);
        if (++_sqTail == Depth)
        {
            _sqTail = 0;
        }

        if (!ring)
        {
            int next = _sqTail + 1 == Depth ? 0 : _sqTail + 1;
            if (next != _lastSqTail)
            {
                return;
            }
        }

        RingSq();
    }

    /// <summary><c>nvme_commit_rqs</c>' doorbell: rings for entries stored but not announced yet. The caller holds <see cref="SqLock"/>.</summary>
    internal void CommitSq()
    {
        if (_sqTail != _lastSqTail)
        {
            RingSq();
        }
    }

    private void RingSq()
    {
        _cpu.Writel(SqDoorbell, _sqTail);
        _lastSqTail = _sqTail;
    }

    /// <summary>
    /// <c>nvme_process_cq</c>: hands every new completion (phase tag matching) to <paramref name="handle"/>, then rings
    /// the CQ head doorbell once. The caller holds <see cref="CqPollLock"/>.
    /// </summary>
    internal int ProcessCq(Action<NvmeQueue, NvmeCompletion> handle)
    {
        int found = 0;
        while (true)
        {
            NvmeCompletion cqe = _cpu.ReadStruct<NvmeCompletion>(CqCpuAddress + ((ulong)_cqHead * NvmeCompletion.SizeBytes));
            if (cqe.Phase != _cqPhase)
            {
                break;
            }

            if (++_cqHead == Depth)
            {
                _cqHead = 0;
                _cqPhase = !_cqPhase;
            }

            found++;
            handle(this, cqe);
        }

        if (found != 0)
        {
            Interlocked.Add(ref _completions, found);
            _cpu.Writel(CqDoorbell, _cqHead);
        }

        return found;
    }
}
