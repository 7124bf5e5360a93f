using System;
using System.Runtime.InteropServices;

namespace P2pEmu.Emulator.Devices.Nvme;

/// <summary>NVM command set I/O commands: Flush, Write, Read, Write Zeroes, Dataset Management (NVMe NVM command set spec 1.0, §3).</summary>
public sealed partial class NvmeController
{
    private const byte OpFlush = 0x00;
    private const byte OpWrite = 0x01;
    private const byte OpRead = 0x02;
    private const byte OpWriteZeroes = 0x08;
    private const byte OpDatasetManagement = 0x09;
    private const ushort OncsDatasetManagement = 1 << 2;
    private const ushort OncsWriteZeroes = 1 << 3;
    private const uint DsmDeallocate = 1 << 2;
    private const int DsmRangeBytes = 16;
    private const uint BroadcastNsid = 0xFFFF_FFFF;

    /// <summary>Parameter Error Location of PSDT: command byte 1, bit 6.</summary>
    private const ushort PsdtLocation = (6 << 8) | 1;

    /// <summary>Largest data transfer (MDTS pages).</summary>
    public const int MaxTransferBytes = PageBytes << Mdts;

    private NvmeStatus ExecuteIo(in NvmeCommand command)
    {
        // CDW0: FUSE (9:8) must be 0 (no fused operations) and 13:10 are reserved; PSDT (15:14) 11b is reserved.
        if ((command.Flags & 0x3F) != 0)
        {
            return NvmeStatus.InvalidField;
        }

        if ((command.Flags >> PsdtShift) == 3)
        {
            _errorLocation = PsdtLocation;
            return NvmeStatus.InvalidField;
        }

        switch (command.Opcode)
        {
            case OpFlush:
                // No volatile write cache (VWC 0): media writes are durable when they complete.
                return command.Nsid == BroadcastNsid || FindNamespace(command.Nsid) is not null
                    ? NvmeStatus.Success
                    : NvmeStatus.InvalidNamespace;
            case OpWrite:
            case OpRead:
                return ReadWrite(in command, toHost: command.Opcode == OpRead);
            case OpWriteZeroes:
                return WriteZeroes(in command);
            case OpDatasetManagement:
                return DatasetManagement(in command);
            default:
                return NvmeStatus.InvalidOpcode;
        }
    }

    private NvmeStatus ReadWrite(in NvmeCommand command, bool toHost)
    {
        NvmeNamespace? ns = LbaRange(in command, out NvmeStatus status, out ulong slba, out ulong blocks);
        if (ns is null)
        {
            return status;
        }

        ulong bytes = blocks << NvmeNamespace.LbaShift;
        if (bytes > MaxTransferBytes)
        {
            return NvmeStatus.InvalidField;
        }

        // One copy: between the namespace media and the DMA target, with no staging buffer.
        Span<byte> media = ns.Memory.GetSpan(slba << NvmeNamespace.LbaShift, (int)bytes);
        return TransferData(in command, media, toHost);
    }

    /// <summary>
    /// The namespace (NSID) and the block range (SLBA in CDW10/CDW11, NLB 0-based in CDW12 15:0) of a Read, Write or
    /// Write Zeroes; null with <paramref name="status"/> Invalid Namespace, or LBA Out of Range with the SLBA recorded
    /// for the error log.
    /// </summary>
    private NvmeNamespace? LbaRange(in NvmeCommand command, out NvmeStatus status, out ulong slba, out ulong blocks)
    {
        slba = command.Cdw10 | ((ulong)command.Cdw11 << 32);
        blocks = (command.Cdw12 & 0xFFFF) + 1UL;
        NvmeNamespace? ns = FindNamespace(command.Nsid);
        if (ns is null)
        {
            status = NvmeStatus.InvalidNamespace;
            return null;
        }

        if (!InRange(ns, slba, blocks))
        {
            _errorLocation = 40; // CDW10: SLBA
            _errorLba = slba;
            status = NvmeStatus.LbaOutOfRange;
            return null;
        }

        status = NvmeStatus.Success;
        return ns;
    }

    /// <summary>Write Zeroes: SLBA in CDW10/CDW11, NLB (0-based) in CDW12 15:0; the range is zeroed, nothing is transferred.</summary>
    private NvmeStatus WriteZeroes(in NvmeCommand command)
    {
        NvmeNamespace? ns = LbaRange(in command, out NvmeStatus status, out ulong slba, out ulong blocks);
        if (ns is null)
        {
            return status;
        }

        ns.Memory.Fill(slba << NvmeNamespace.LbaShift, blocks << NvmeNamespace.LbaShift, 0);
        return NvmeStatus.Success;
    }

    /// <summary>
    /// Dataset Management: NR (0-based, CDW10 7:0) 16-byte ranges read through PRP1/PRP2; with AD (CDW11 bit 2) every
    /// range is deallocated and reads back as zeroes (DLFEAT 001b). All ranges are checked before any is deallocated.
    /// Without AD the attributes are hints and the command does nothing.
    /// </summary>
    private NvmeStatus DatasetManagement(in NvmeCommand command)
    {
        NvmeNamespace? ns = FindNamespace(command.Nsid);
        if (ns is null)
        {
            return NvmeStatus.InvalidNamespace;
        }

        int count = (int)(command.Cdw10 & 0xFF) + 1;
        Span<byte> ranges = stackalloc byte[count * DsmRangeBytes];
        NvmeStatus transfer = TransferData(in command, ranges, toHost: false);
        if (transfer != NvmeStatus.Success || (command.Cdw11 & DsmDeallocate) == 0)
        {
            return transfer;
        }

        ReadOnlySpan<NvmeDsmRange> parsed = MemoryMarshal.Cast<byte, NvmeDsmRange>(ranges);
        foreach (NvmeDsmRange range in parsed)
        {
            if (range.LengthInBlocks != 0 && !InRange(ns, range.StartingLba, range.LengthInBlocks))
            {
                _errorLba = range.StartingLba;
                return NvmeStatus.LbaOutOfRange;
            }
        }

        foreach (NvmeDsmRange range in parsed)
        {
            if (range.LengthInBlocks == 0)
            {
                continue; // an empty range names no blocks, whatever its SLBA
            }

            ns.Memory.Fill(range.StartingLba << NvmeNamespace.LbaShift, (ulong)range.LengthInBlocks << NvmeNamespace.LbaShift, 0);
        }

        return NvmeStatus.Success;
    }

    private static bool InRange(NvmeNamespace ns, ulong slba, ulong blocks) =>
        slba < ns.BlockCount && blocks <= ns.BlockCount - slba;
}
