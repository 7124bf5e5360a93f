using System;
using System.Buffers.Binary;
using System.Threading;
using P2pEmu.Dma.Block;

namespace P2pEmu.Drivers.Nvme;

/// <content>
/// SGL data pointers (Linux <c>nvme_pci_use_sgls</c>, <c>nvme_pci_setup_sgls</c>): one Data Block descriptor in the
/// command when the data is one DMA segment, else a Last Segment descriptor pointing at a list of Data Blocks in a
/// pool page.
/// </content>
public sealed partial class NvmeDev
{
    /// <summary><c>NVME_CMD_SGL_METABUF</c>: PSDT 01b in CDW0 bits 15:14.</summary>
    private const byte CmdSglMetabuf = 1 << 6;

    private const byte SglFmtDataDesc = 0x0;
    private const byte SglFmtLastSegDesc = 0x3;
    private const int SglDescBytes = 16;
    private const int SglsPerPage = CtrlPageSize / SglDescBytes;

    private long _sglCommands;

    /// <summary>Commands sent with an SGL data pointer so far.</summary>
    public long SglCommands => Interlocked.Read(ref _sglCommands);

    /// <summary><c>nvme_ctrl_sgl_supported</c>: Identify Controller SGLS bits 1:0.</summary>
    public bool SglSupported => IdCtrl is not null && (IdCtrl.Sgls & 3) != 0;

    /// <summary>
    /// <c>nvme_pci_use_sgls</c>: only on a controller with SGLs and on an I/O queue; passthrough commands always;
    /// block I/O when its average segment reaches <see cref="NvmeDriverOptions.SglThreshold"/>.
    /// </summary>
    private bool UseSgls(NvmeQueue queue, Request request, NvmeIod iod)
    {
        if (!SglSupported || queue.Qid == 0)
        {
            return false;
        }

        ulong average = ((ulong)request.PayloadBytes + (ulong)request.NrPhysSegments - 1) / (ulong)request.NrPhysSegments;
        if (_options.SglThreshold == 0 || average < _options.SglThreshold)
        {
            return iod.Passthrough is not null;
        }

        return true;
    }

    /// <summary>
    /// <c>nvme_pci_setup_sgls</c>: a single DMA segment (one bio_vec, or everything in one IOVA window) becomes SGL1
    /// itself; otherwise each segment becomes a Data Block in a list that SGL1 points to as the last segment.
    /// </summary>
    private BlkStatus SetupSgls(Request request, NvmeIod iod, ref NvmeCommand command)
    {
        command.Flags = (byte)((command.Flags & 0x3F) | CmdSglMetabuf);
        BlkDmaIter iter = iod.Iter;
        if (!BlkMqDma.BlkRqDmaMapIterStart(_dma, request, DmaDev, iod.DmaState, iter))
        {
            return iter.Status == BlkStatus.Ok ? BlkStatus.IoErr : iter.Status;
        }

        iod.Mapped = true;
        iod.P2pBus = (request.Flags & ReqFlags.P2pdma) != 0;
        Record(iod, iter);
        Interlocked.Increment(ref _sglCommands);
        if (request.NrPhysSegments == 1 || iod.DmaState.UsesIova)
        {
            SetSgl1(ref command, iter.Addr.Value, (uint)iter.Len, SglFmtDataDesc);
            iod.TotalLen += iter.Len;
            return BlkStatus.Ok;
        }

        if (_prpPool!.Alloc() is not NvmeDmaPool.Block block)
        {
            UnmapData(request, iod);
            return BlkStatus.Resource;
        }

        iod.Descriptors.Add(block);
        Span<byte> list = iod.SglSegment.AsSpan(0, Math.Min(request.NrPhysSegments, SglsPerPage) * SglDescBytes);
        int mapped = 0;
        BlkStatus status = BlkStatus.Ok;
        do
        {
            if (mapped * SglDescBytes == list.Length)
            {
                status = BlkStatus.IoErr; // more segments than the request said it had
                break;
            }

            Span<byte> descriptor = list.Slice(mapped * SglDescBytes, SglDescBytes);
            BinaryPrimitives.WriteUInt64LittleEndian(descriptor, iter.Addr.Value);
            BinaryPrimitives.WriteUInt32LittleEndian(descriptor[8..], (uint)iter.Len);
            descriptor[15] = SglFmtDataDesc << 4;
            iod.TotalLen += iter.Len;
            mapped++;
        }
        while (NextSegment(request, iod, iter));

        if (status == BlkStatus.Ok)
        {
            status = iter.Status;
        }

        _cpu.Write(block.Cpu.Value, list[..(mapped * SglDescBytes)]);
        SetSgl1(ref command, block.Dma.Value, (uint)(mapped * SglDescBytes), SglFmtLastSegDesc);
        if (status != BlkStatus.Ok)
        {
            UnmapData(request, iod);
        }

        return status;
    }

    /// <summary>SGL1 in the data pointer: the address in PRP1's place, length and identifier in PRP2's.</summary>
    private static void SetSgl1(ref NvmeCommand command, ulong address, uint length, byte format)
    {
        command.Prp1 = address;
        command.Prp2 = length | ((ulong)(format << 4) << 56);
    }

    /// <summary>The next DMA segment; false at the end (status OK) or on a mapping failure (status set).</summary>
    private bool NextSegment(Request request, NvmeIod iod, BlkDmaIter iter)
    {
        if (!BlkMqDma.BlkRqDmaMapIterNext(_dma, request, DmaDev, iod.DmaState, iter))
        {
            return false;
        }

        Record(iod, iter);
        return true;
    }
}
