using System;

namespace P2pEmu.Emulator.Devices.Nvme;

/// <summary>NVM command set I/O commands: Flush, Write, Read (NVMe NVM command set spec 1.0, §3).</summary>
public sealed partial class NvmeController
{
    private const byte OpFlush = 0x00;
    private const byte OpWrite = 0x01;
    private const byte OpRead = 0x02;
    private const uint BroadcastNsid = 0xFFFF_FFFF;

    /// <summary>Largest data transfer (MDTS pages).</summary>
    public const int MaxTransferBytes = PageBytes << Mdts;

    private NvmeStatus ExecuteIo(in NvmeCommand command)
    {
        if (command.Flags != 0)
        {
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
            default:
                return NvmeStatus.InvalidOpcode;
        }
    }

    private NvmeStatus ReadWrite(in NvmeCommand command, bool toHost)
    {
        NvmeNamespace? ns = FindNamespace(command.Nsid);
        if (ns is null)
        {
            return NvmeStatus.InvalidNamespace;
        }

        ulong slba = command.Cdw10 | ((ulong)command.Cdw11 << 32);
        ulong blocks = (command.Cdw12 & 0xFFFF) + 1UL;
        if (slba >= ns.BlockCount || blocks > ns.BlockCount - slba)
        {
            return NvmeStatus.LbaOutOfRange;
        }

        ulong bytes = blocks << NvmeNamespace.LbaShift;
        if (bytes > MaxTransferBytes)
        {
            return NvmeStatus.InvalidField;
        }

        // One copy: between the namespace media and the DMA target, with no staging buffer.
        Span<byte> media = ns.Memory.GetSpan(slba << NvmeNamespace.LbaShift, (int)bytes);
        return TransferPrp(in command, media, toHost);
    }
}
