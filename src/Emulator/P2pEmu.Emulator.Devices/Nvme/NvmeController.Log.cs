using System;
using System.Runtime.InteropServices;

namespace P2pEmu.Emulator.Devices.Nvme;

/// <summary>Get Log Page (NVMe base spec 2.0, §5.16) and the Error Information log it returns (LID 01h).</summary>
public sealed partial class NvmeController
{
    /// <summary>Entries the Error Information log keeps (Identify Controller ELPE + 1).</summary>
    public const int ErrorLogEntries = 64;

    private const byte OpGetLogPage = 0x02;
    private const byte LogErrorInformation = 0x01;
    private const int ErrorLogEntryBytes = 64;
    private const int ErrorLogBytes = ErrorLogEntries * ErrorLogEntryBytes;
    private const ushort NoErrorLocation = 0xFFFF;

    /// <summary>Ring of the newest errors; <see cref="_errorLogNext"/> is the slot the next error fills.</summary>
    private readonly NvmeErrorLogEntry[] _errorLog = new NvmeErrorLogEntry[ErrorLogEntries];
    private int _errorLogNext;
    private ulong _errorCount;

    /// <summary>Set by a failing command: the command byte (7:0) and bit (10:8) in error, or FFFFh.</summary>
    private ushort _errorLocation;

    /// <summary>Set by a failing command: the LBA the error concerns, or 0.</summary>
    private ulong _errorLba;

    /// <summary>Errors recorded in the Error Information log since the controller was created (the newest Error Count).</summary>
    public ulong ErrorCount => _errorCount;

    private void BeginCommand()
    {
        _errorLocation = NoErrorLocation;
        _errorLba = 0;
    }

    /// <summary>Adds an entry for a command completed with <paramref name="status"/> (an error) on <paramref name="sqId"/>.</summary>
    private void RecordError(ushort sqId, in NvmeCommand command, NvmeStatus status, bool phase)
    {
        ushort location = _errorLocation;
        if (location == NoErrorLocation)
        {
            location = status switch
            {
                NvmeStatus.InvalidOpcode => 0, // CDW0 byte 0: OPC
                NvmeStatus.InvalidNamespace => 4, // CDW1: NSID
                _ => NoErrorLocation,
            };
        }

        _errorCount++;
        _errorLog[_errorLogNext] = new NvmeErrorLogEntry
        {
            ErrorCount = _errorCount,
            SqId = sqId,
            Cid = command.Cid,
            StatusField = EncodeStatus(status, phase),
            ParameterErrorLocation = location,
            Lba = _errorLba,
            Nsid = command.Nsid,
        };
        _errorLogNext = (_errorLogNext + 1) % ErrorLogEntries;
    }

    /// <summary>
    /// Get Log Page: LID in CDW10 7:0, NUMD (0-based dwords) from NUMDL (CDW10 31:16) and NUMDU (CDW11 15:0),
    /// byte offset from LPOL/LPOU (CDW12/CDW13). Only the Error Information log exists; bytes past its end read as zero.
    /// </summary>
    private NvmeStatus GetLogPage(in NvmeCommand command)
    {
        if ((command.Cdw10 & 0xFF) != LogErrorInformation)
        {
            _errorLocation = 40; // CDW10 byte 0: LID
            return NvmeStatus.InvalidField;
        }

        ulong dwords = (command.Cdw10 >> 16) + ((ulong)(command.Cdw11 & 0xFFFF) << 16) + 1;
        ulong offset = command.Cdw12 | ((ulong)command.Cdw13 << 32);
        if (dwords * 4 > MaxTransferBytes)
        {
            _errorLocation = 42; // NUMDL
            return NvmeStatus.InvalidField;
        }

        if ((offset & 3) != 0 || offset >= ErrorLogBytes)
        {
            _errorLocation = 48; // LPOL
            return NvmeStatus.InvalidField;
        }

        byte[] data = new byte[(int)(dwords * 4)];
        Span<byte> log = _identifyBuffer;
        FillErrorLog(log);
        Span<byte> available = log[(int)offset..];
        available[..Math.Min(available.Length, data.Length)].CopyTo(data);
        return TransferData(in command, data, toHost: true);
    }

    /// <summary>Writes the 64 entries newest first; slots never filled read as zero (Error Count 0).</summary>
    private void FillErrorLog(Span<byte> log)
    {
        log[..ErrorLogBytes].Clear();
        for (int i = 0; i < ErrorLogEntries; i++)
        {
            int slot = (_errorLogNext - 1 - i + (2 * ErrorLogEntries)) % ErrorLogEntries;
            NvmeErrorLogEntry entry = _errorLog[slot];
            MemoryMarshal.Write(log.Slice(i * ErrorLogEntryBytes, ErrorLogEntryBytes), in entry);
        }
    }
}
