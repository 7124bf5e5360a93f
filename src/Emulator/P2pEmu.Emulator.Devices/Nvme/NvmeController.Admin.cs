using System;
using System.Buffers.Binary;
using System.Text;
using P2pEmu.Emulator.Addressing;

namespace P2pEmu.Emulator.Devices.Nvme;

/// <summary>Admin command set (NVMe base spec 2.0, §5): queues, Identify, Number of Queues, Get Log Page.</summary>
public sealed partial class NvmeController
{
    private const byte OpDeleteIoSq = 0x00;
    private const byte OpCreateIoSq = 0x01;
    private const byte OpDeleteIoCq = 0x04;
    private const byte OpCreateIoCq = 0x05;
    private const byte OpIdentify = 0x06;
    private const byte OpSetFeatures = 0x09;
    private const byte OpGetFeatures = 0x0A;
    private const byte FeatureNumberOfQueues = 0x07;
    private const uint IoSqEntrySizeLog2 = 6;
    private const uint IoCqEntrySizeLog2 = 4;

    private NvmeStatus ExecuteAdmin(in NvmeCommand command, ref uint dw0)
    {
        if (command.Flags != 0)
        {
            return NvmeStatus.InvalidField; // no fused commands, PRPs only (PSDT 0)
        }

        return command.Opcode switch
        {
            OpDeleteIoSq => DeleteIoSubmissionQueue(in command),
            OpCreateIoSq => CreateIoSubmissionQueue(in command),
            OpDeleteIoCq => DeleteIoCompletionQueue(in command),
            OpCreateIoCq => CreateIoCompletionQueue(in command),
            OpGetLogPage => GetLogPage(in command),
            OpIdentify => Identify(in command),
            OpSetFeatures => SetFeatures(in command, ref dw0),
            OpGetFeatures => GetFeatures(in command, ref dw0),
            _ => NvmeStatus.InvalidOpcode,
        };
    }

    private NvmeStatus CreateIoCompletionQueue(in NvmeCommand command)
    {
        int qid = (int)(command.Cdw10 & 0xFFFF);
        uint sizeZeroBased = command.Cdw10 >> 16;
        if (qid == 0 || qid > _ioCompletionQueuesAllocated || _completionQueues[qid] is not null)
        {
            return NvmeStatus.InvalidQueueId;
        }

        if (sizeZeroBased == 0 || sizeZeroBased > MaxQueueEntriesZeroBased)
        {
            return NvmeStatus.InvalidQueueSize;
        }

        if ((command.Cdw11 & 1) == 0 || _ccIocqes.Value != IoCqEntrySizeLog2)
        {
            return NvmeStatus.InvalidField; // CAP.CQR: physically contiguous only; CC.IOCQES must be 16 bytes
        }

        // IV (CDW11 31:16) names an MSI-X vector; without MSI-X enabled the host must leave it 0 (as QEMU checks).
        int vector = (int)(command.Cdw11 >> 16);
        if (vector >= InterruptVectors || (vector != 0 && Function?.MsiXEnabled != true))
        {
            _errorLocation = 46; // CDW11 bytes 3:2: IV
            return NvmeStatus.InvalidInterruptVector;
        }

        if ((command.Prp1 & PageMask) != 0)
        {
            return NvmeStatus.InvalidPrpOffset;
        }

        // CMBSZ.CQS is clear: a completion queue may not use the controller memory space.
        if (TouchesControllerMemory(command.Prp1, (ulong)(sizeZeroBased + 1) * CqEntryBytes))
        {
            return NvmeStatus.InvalidUseOfControllerMemoryBuffer;
        }

        bool interruptsEnabled = (command.Cdw11 & 2) != 0; // IEN
        _completionQueues[qid] = new NvmeQueue((ushort)qid, new DmaAddress(command.Prp1), sizeZeroBased + 1, 0, interruptsEnabled, vector);
        _queueIdLimit = Math.Max(_queueIdLimit, qid + 1);
        return NvmeStatus.Success;
    }

    private NvmeStatus CreateIoSubmissionQueue(in NvmeCommand command)
    {
        int qid = (int)(command.Cdw10 & 0xFFFF);
        uint sizeZeroBased = command.Cdw10 >> 16;
        int cqid = (int)(command.Cdw11 >> 16);
        if (qid == 0 || qid > _ioSubmissionQueuesAllocated || _submissionQueues[qid] is not null)
        {
            return NvmeStatus.InvalidQueueId;
        }

        if (cqid == 0 || cqid > MaxIoQueues || _completionQueues[cqid] is null)
        {
            return NvmeStatus.CompletionQueueInvalid;
        }

        if (sizeZeroBased == 0 || sizeZeroBased > MaxQueueEntriesZeroBased)
        {
            return NvmeStatus.InvalidQueueSize;
        }

        if ((command.Cdw11 & 1) == 0 || _ccIosqes.Value != IoSqEntrySizeLog2)
        {
            return NvmeStatus.InvalidField;
        }

        if ((command.Prp1 & PageMask) != 0)
        {
            return NvmeStatus.InvalidPrpOffset;
        }

        // CMBSZ.SQS: a submission queue may be in the controller memory space (fetched internally), not across its edge.
        if (Locate(command.Prp1, (ulong)(sizeZeroBased + 1) * SqEntryBytes, out _) == MemorySpace.Straddles)
        {
            return NvmeStatus.InvalidUseOfControllerMemoryBuffer;
        }

        _submissionQueues[qid] = new NvmeQueue((ushort)qid, new DmaAddress(command.Prp1), sizeZeroBased + 1, (ushort)cqid);
        _queueIdLimit = Math.Max(_queueIdLimit, qid + 1);
        return NvmeStatus.Success;
    }

    private NvmeStatus DeleteIoSubmissionQueue(in NvmeCommand command)
    {
        int qid = (int)(command.Cdw10 & 0xFFFF);
        if (qid == 0 || qid > MaxIoQueues || _submissionQueues[qid] is null)
        {
            return NvmeStatus.InvalidQueueId;
        }

        _submissionQueues[qid] = null;
        return NvmeStatus.Success;
    }

    private NvmeStatus DeleteIoCompletionQueue(in NvmeCommand command)
    {
        int qid = (int)(command.Cdw10 & 0xFFFF);
        if (qid == 0 || qid > MaxIoQueues || _completionQueues[qid] is null)
        {
            return NvmeStatus.InvalidQueueId;
        }

        for (int i = 1; i <= MaxIoQueues; i++)
        {
            if (_submissionQueues[i]?.CompletionQueueId == qid)
            {
                return NvmeStatus.InvalidQueueDeletion;
            }
        }

        _completionQueues[qid] = null;
        return NvmeStatus.Success;
    }

    private NvmeStatus SetFeatures(in NvmeCommand command, ref uint dw0)
    {
        if ((command.Cdw10 & 0xFF) != FeatureNumberOfQueues)
        {
            return NvmeStatus.InvalidField;
        }

        uint sqRequested = command.Cdw11 & 0xFFFF;
        uint cqRequested = command.Cdw11 >> 16;
        if (sqRequested == 0xFFFF || cqRequested == 0xFFFF)
        {
            return NvmeStatus.InvalidField; // 65,536 queues: the spec's reserved request
        }

        _ioSubmissionQueuesAllocated = (int)Math.Min(sqRequested + 1, MaxIoQueues);
        _ioCompletionQueuesAllocated = (int)Math.Min(cqRequested + 1, MaxIoQueues);
        dw0 = NumberOfQueuesValue;
        return NvmeStatus.Success;
    }

    private NvmeStatus GetFeatures(in NvmeCommand command, ref uint dw0)
    {
        if ((command.Cdw10 & 0xFF) != FeatureNumberOfQueues)
        {
            return NvmeStatus.InvalidField;
        }

        dw0 = NumberOfQueuesValue;
        return NvmeStatus.Success;
    }

    /// <summary>Number of Queues DW0: NSQA in 15:0 and NCQA in 31:16, both 0-based.</summary>
    private uint NumberOfQueuesValue =>
        (uint)(_ioSubmissionQueuesAllocated - 1) | ((uint)(_ioCompletionQueuesAllocated - 1) << 16);

    private NvmeStatus Identify(in NvmeCommand command)
    {
        Span<byte> data = _identifyBuffer;
        data.Clear();
        switch (command.Cdw10 & 0xFF)
        {
            case 0x00:
                NvmeNamespace? ns = FindNamespace(command.Nsid);
                if (ns is null)
                {
                    return NvmeStatus.InvalidNamespace;
                }

                FillIdentifyNamespace(ns, data);
                break;
            case 0x01:
                FillIdentifyController(data);
                break;
            case 0x02:
                if (command.Nsid >= 0xFFFF_FFFE)
                {
                    return NvmeStatus.InvalidNamespace;
                }

                int at = 0;
                foreach (NvmeNamespace active in _namespaces)
                {
                    if (active.Nsid > command.Nsid && at < PageBytes)
                    {
                        BinaryPrimitives.WriteUInt32LittleEndian(data[at..], active.Nsid);
                        at += 4;
                    }
                }

                break;
            default:
                return NvmeStatus.InvalidField;
        }

        return TransferData(in command, data, toHost: true);
    }

    /// <summary>Identify Controller data structure (CNS 01h); offsets per NVMe base spec 2.0, figure 275.</summary>
    private void FillIdentifyController(Span<byte> data)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(data[0..], VendorId); // VID
        BinaryPrimitives.WriteUInt16LittleEndian(data[2..], VendorId); // SSVID
        WriteAscii(data.Slice(4, 20), SerialNumber); // SN
        WriteAscii(data.Slice(24, 40), ModelNumber); // MN
        WriteAscii(data.Slice(64, 8), FirmwareRevision); // FR
        data[72] = 6; // RAB
        data[77] = Mdts;
        BinaryPrimitives.WriteUInt16LittleEndian(data[78..], 1); // CNTLID
        BinaryPrimitives.WriteUInt32LittleEndian(data[80..], 0x0002_0000); // VER
        data[111] = 1; // CNTRLTYPE: I/O controller
        data[258] = 3; // ACL
        data[259] = 3; // AERL
        data[261] = 1 << 2; // LPA: extended data (NUMDU, LPOL/LPOU)
        data[262] = ErrorLogEntries - 1; // ELPE
        data[512] = (byte)((IoSqEntrySizeLog2 << 4) | IoSqEntrySizeLog2); // SQES
        data[513] = (byte)((IoCqEntrySizeLog2 << 4) | IoCqEntrySizeLog2); // CQES
        BinaryPrimitives.WriteUInt32LittleEndian(data[516..], (uint)_namespaces.Length); // NN
        BinaryPrimitives.WriteUInt16LittleEndian(data[520..], OncsDatasetManagement | OncsWriteZeroes); // ONCS
        BinaryPrimitives.WriteUInt32LittleEndian(data[536..], SglSupport); // SGLS
        WriteAscii(data.Slice(768, 256), "nqn.2026-01.io.p2pemu:" + SerialNumber, pad: 0); // SUBNQN
    }

    /// <summary>Identify Namespace data structure (CNS 00h): sizes, DLFEAT and LBA format 0 (512-byte data, no metadata).</summary>
    private static void FillIdentifyNamespace(NvmeNamespace ns, Span<byte> data)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(data[0..], ns.BlockCount); // NSZE
        BinaryPrimitives.WriteUInt64LittleEndian(data[8..], ns.BlockCount); // NCAP
        BinaryPrimitives.WriteUInt64LittleEndian(data[16..], ns.BlockCount); // NUSE
        data[25] = 0; // NLBAF: one format (0-based)
        data[26] = 0; // FLBAS: format 0
        data[33] = 0b001; // DLFEAT: deallocated logical blocks read as all zeroes
        data[128 + 2] = NvmeNamespace.LbaShift; // LBAF0.LBADS
    }

    /// <summary>Identify Controller MN.</summary>
    public const string ModelNumber = "P2pEmu NVMe Controller";

    /// <summary>Identify Controller FR.</summary>
    public const string FirmwareRevision = "1.0";

    private static void WriteAscii(Span<byte> field, string text, byte pad = (byte)' ')
    {
        field.Fill(pad);
        int n = Math.Min(field.Length, text.Length);
        Encoding.ASCII.GetBytes(text.AsSpan(0, n), field);
    }
}
