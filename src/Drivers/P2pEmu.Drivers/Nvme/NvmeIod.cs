using System.Collections.Generic;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.Mapping;
using P2pEmu.Emulator.Addressing;

namespace P2pEmu.Drivers.Nvme;

/// <summary>
/// Linux <c>struct nvme_iod</c>: the driver's data for one request — the command, how its data was mapped (IOVA
/// window, direct mappings, or P2P bus addresses that need no unmap), the PRP list pages, and the completion.
/// </summary>
internal sealed class NvmeIod
{
    private ulong[]? _prpEntries;
    private byte[]? _sglSegment;

    /// <summary><c>iod-&gt;cmd</c>: the command as prepared, copied into the SQ when the request is submitted.</summary>
    public NvmeCommand Command;

    /// <summary>Prepared by <c>nvme_queue_rqs</c> for its batch (and taken, once the batch is in the SQ).</summary>
    public bool Batched { get; set; }

    /// <summary>A passthrough command from the caller; null for reads and writes built from the request.</summary>
    public NvmeCommand? Passthrough { get; init; }

    public DmaIovaState DmaState { get; } = new();

    public BlkDmaIter Iter { get; } = new();

    /// <summary><c>iod-&gt;dma_vecs</c>: direct mappings the driver must unmap itself.</summary>
    public List<(DmaAddress Address, ulong Length)> DmaVecs { get; } = new();

    /// <summary><c>iod-&gt;descriptors</c>: PRP list pages from the pool.</summary>
    public List<NvmeDmaPool.Block> Descriptors { get; } = new();

    /// <summary>One PRP list page being built (made on first use, then kept with the request).</summary>
    public ulong[] PrpEntries => _prpEntries ??= new ulong[NvmeDev.CtrlPageSize / sizeof(ulong)];

    /// <summary>One SGL segment being built (made on first use, then kept with the request).</summary>
    public byte[] SglSegment => _sglSegment ??= new byte[NvmeDev.CtrlPageSize];

    /// <summary><c>iod-&gt;total_len</c>: bytes mapped.</summary>
    public ulong TotalLen { get; set; }

    /// <summary>True while data is mapped.</summary>
    public bool Mapped { get; set; }

    /// <summary>The data went out as P2P bus addresses (BUS_ADDR): nothing to unmap.</summary>
    public bool P2pBus { get; set; }

    /// <summary><c>nvme_req(req)-&gt;status</c>: the completion's status field (0: success).</summary>
    public ushort Status { get; set; }

    /// <summary>When the command was sent (<see cref="System.Diagnostics.Stopwatch"/> ticks), taken only while <see cref="NvmeEventSource"/> listens; else 0.</summary>
    public long SubmittedAt { get; set; }

    /// <summary>The command's id and opcode, for <see cref="NvmeEventSource.CompleteRq"/>.</summary>
    public long CommandTag { get; set; }

    /// <summary><c>nvme_req(req)-&gt;result</c>: completion DW0.</summary>
    public uint Result { get; set; }

    public void Reset()
    {
        DmaVecs.Clear();
        Descriptors.Clear();
        TotalLen = 0;
        Mapped = false;
        P2pBus = false;
        Status = 0;
        Result = 0;
        SubmittedAt = 0;
        CommandTag = 0;
        Batched = false;
    }
}
