using System;
using System.Buffers.Binary;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Devices.Net;

namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>
/// The command interface: CMD_DOORBELL executes the 64-byte block at CMD_ADDR (read by DMA) before the write returns.
/// Byte 0 is the <see cref="NicCommandOpcode"/>, bytes 4–7 the object number; docs/nic.md lists every field.
/// </summary>
public sealed partial class NicDevice
{
    /// <summary>Size of the command block.</summary>
    public const int CommandBytes = 64;

    /// <summary>CREATE_MKEY flag: the key has no MTT, its addresses are DMA addresses (a local DMA key).</summary>
    public const uint MkeyPhysical = 1;

    /// <summary>UPDATE_MTT flag: mark the entries not present instead of reading new ones (zap).</summary>
    public const uint MttZap = 1;

    /// <summary>Smallest and largest MTT page shift: 4 KiB to 1 GiB pages.</summary>
    public const int MinPageShift = 12;

    public const int MaxPageShift = 30;

    /// <summary>Largest MTT a key may have, in entries.</summary>
    public const uint MaxMttEntries = 1u << 20;

    private NicCommandStatus ExecuteCommand(DmaAddress block)
    {
        if (!_ready.IsSet)
        {
            return NicCommandStatus.NotEnabled;
        }

        Span<byte> cmd = stackalloc byte[CommandBytes];
        if (!Dma.Read(block, cmd).IsSuccess)
        {
            return NicCommandStatus.DmaError;
        }

        uint index = U32(cmd, 4);
        return (NicCommandOpcode)cmd[0] switch
        {
            NicCommandOpcode.CreateCq => CreateCq(index, cmd),
            NicCommandOpcode.DestroyCq => DestroyCq(index),
            NicCommandOpcode.CreateQp => CreateQp(index, cmd),
            NicCommandOpcode.ModifyQp => ModifyQp(index, cmd),
            NicCommandOpcode.DestroyQp => DestroyQp(index),
            NicCommandOpcode.CreateMkey => CreateMkey(index, cmd),
            NicCommandOpcode.DestroyMkey => _mkeys.Remove(index) ? NicCommandStatus.Ok : NicCommandStatus.NotFound,
            NicCommandOpcode.UpdateMtt => UpdateMtt(index, cmd),
            _ => NicCommandStatus.BadOpcode,
        };
    }

    private static uint U32(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b[at..]);

    private static ulong U64(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt64LittleEndian(b[at..]);

    /// <summary>Entry <paramref name="index"/> (mod <paramref name="entries"/>) of a ring; addresses wrap at 2^64 as the hardware's adders do.</summary>
    private static DmaAddress Slot(ulong ringBase, uint index, uint entries, int entryBytes) =>
        new(unchecked(ringBase + ((ulong)(index & (entries - 1)) * (ulong)entryBytes)));

    private static DmaAddress Offset(DmaAddress address, ulong bytes) => new(unchecked(address.Value + bytes));

    private static bool IsRingSize(uint entries) => entries != 0 && entries <= MaxQueueEntries && (entries & (entries - 1)) == 0;

    // CREATE_CQ: [8] ring address (64), [16] entries, [20] MSI-X vector or 0xFFFFFFFF.
    private NicCommandStatus CreateCq(uint cqn, ReadOnlySpan<byte> cmd)
    {
        if (cqn >= MaxCqs)
        {
            return NicCommandStatus.BadIndex;
        }

        if (_cqs[cqn] is not null)
        {
            return NicCommandStatus.InUse;
        }

        uint entries = U32(cmd, 16);
        uint vector = U32(cmd, 20);
        if (!IsRingSize(entries) || (vector != NicCq.NoVector && vector >= InterruptVectors))
        {
            return NicCommandStatus.BadParameter;
        }

        _cqs[cqn] = new NicCq(cqn, new DmaAddress(U64(cmd, 8)), entries, vector);
        return NicCommandStatus.Ok;
    }

    private NicCommandStatus DestroyCq(uint cqn)
    {
        if (cqn >= MaxCqs)
        {
            return NicCommandStatus.BadIndex;
        }

        if (_cqs[cqn] is not NicCq cq)
        {
            return NicCommandStatus.NotFound;
        }

        if (cq.Users != 0)
        {
            return NicCommandStatus.InUse;
        }

        _cqs[cqn] = null;
        return NicCommandStatus.Ok;
    }

    // CREATE_QP: [8] SQ ring (64), [16] SQ entries, [20] RQ entries, [24] RQ ring (64), [32] send CQ, [36] recv CQ, [40] PD.
    private NicCommandStatus CreateQp(uint qpn, ReadOnlySpan<byte> cmd)
    {
        if (qpn == 0 || qpn >= MaxQps)
        {
            return NicCommandStatus.BadIndex;
        }

        if (_qps[qpn] is not null)
        {
            return NicCommandStatus.InUse;
        }

        uint sqEntries = U32(cmd, 16);
        uint rqEntries = U32(cmd, 20);
        uint sendCqn = U32(cmd, 32);
        uint recvCqn = U32(cmd, 36);
        if (!IsRingSize(sqEntries) || !IsRingSize(rqEntries) || sendCqn >= MaxCqs || recvCqn >= MaxCqs
            || _cqs[sendCqn] is not NicCq sendCq || _cqs[recvCqn] is not NicCq recvCq)
        {
            return NicCommandStatus.BadParameter;
        }

        sendCq.Users++;
        recvCq.Users++;
        _qps[qpn] = new NicQp(qpn, U32(cmd, 40), new DmaAddress(U64(cmd, 8)), sqEntries, new DmaAddress(U64(cmd, 24)), rqEntries, sendCq, recvCq);
        return NicCommandStatus.Ok;
    }

    private NicCommandStatus DestroyQp(uint qpn)
    {
        if (qpn == 0 || qpn >= MaxQps)
        {
            return NicCommandStatus.BadIndex;
        }

        if (_qps[qpn] is not NicQp qp)
        {
            return NicCommandStatus.NotFound;
        }

        qp.SendCq.Users--;
        qp.RecvCq.Users--;
        _qps[qpn] = null;
        return NicCommandStatus.Ok;
    }

    // MODIFY_QP: [8] new state, [12] destination QP, [16] destination MAC (64), [24] destination IPv4, [28] RQ PSN,
    // [32] SQ PSN, [36] path MTU in bytes, [40] QP access flags, [44] retry count, [45] RNR retry.
    // The fields a transition uses: INIT the access flags; RTR the destination, RQ PSN and MTU; RTS the SQ PSN and retries.
    private NicCommandStatus ModifyQp(uint qpn, ReadOnlySpan<byte> cmd)
    {
        if (qpn == 0 || qpn >= MaxQps)
        {
            return NicCommandStatus.BadIndex;
        }

        if (_qps[qpn] is not NicQp qp)
        {
            return NicCommandStatus.NotFound;
        }

        var target = (NicQpState)U32(cmd, 8);
        NicQpState current = qp.State;
        switch (target)
        {
            case NicQpState.Reset:
                ResetQp(qp);
                return NicCommandStatus.Ok;
            case NicQpState.Error:
                qp.State = NicQpState.Error;
                return NicCommandStatus.Ok;
            case NicQpState.Init when current is NicQpState.Reset or NicQpState.Init:
                qp.Access = (NicAccess)U32(cmd, 40) & (NicAccess.LocalWrite | NicAccess.RemoteWrite | NicAccess.RemoteRead);
                qp.State = NicQpState.Init;
                return NicCommandStatus.Ok;
            case NicQpState.ReadyToReceive when current == NicQpState.Init:
                int mtu = (int)U32(cmd, 36);
                if (mtu is not (256 or 512 or 1024 or 2048 or 4096))
                {
                    return NicCommandStatus.BadParameter;
                }

                qp.DestinationQp = U32(cmd, 12) & NicQp.PsnMask;
                qp.DestinationMac = new MacAddress(U64(cmd, 16) & 0xFFFF_FFFF_FFFF);
                qp.DestinationIp = U32(cmd, 24);
                qp.ExpectedPsn = U32(cmd, 28) & NicQp.PsnMask;
                qp.Mtu = mtu;
                qp.State = NicQpState.ReadyToReceive;
                return NicCommandStatus.Ok;
            case NicQpState.ReadyToSend when current == NicQpState.ReadyToReceive:
                qp.SqPsn = U32(cmd, 32) & NicQp.PsnMask;
                qp.RetryCount = Math.Min((int)cmd[44], 7);
                qp.RnrRetry = Math.Min((int)cmd[45], 7);
                qp.State = NicQpState.ReadyToSend;
                return NicCommandStatus.Ok;
            default:
                return NicCommandStatus.BadState;
        }
    }

    private static void ResetQp(NicQp qp)
    {
        qp.State = NicQpState.Reset;
        qp.SqProducer = qp.SqConsumer = qp.RqProducer = qp.RqConsumer = 0;
        qp.RetriesLeft = qp.RnrRetriesLeft = -1;
        qp.WaitingForFault = false;
        qp.ReadInFlight = false;
        qp.Responding = NicResponderKind.None;
        qp.HasRecvWqe = false;
        qp.Msn = 0;
    }

    // CREATE_MKEY: [8] IOVA (64), [16] length (64), [24] access, [28] PD, [32] MTT address (64), [40] MTT entries,
    // [44] page shift, [48] flags (bit 0: physical, no MTT).
    private NicCommandStatus CreateMkey(uint key, ReadOnlySpan<byte> cmd)
    {
        if (_mkeys.ContainsKey(key))
        {
            return NicCommandStatus.InUse;
        }

        if (_mkeys.Count >= MaxMkeys)
        {
            return NicCommandStatus.BadIndex;
        }

        ulong iova = U64(cmd, 8);
        ulong length = U64(cmd, 16);
        var access = (NicAccess)U32(cmd, 24);
        uint pd = U32(cmd, 28);
        uint flags = U32(cmd, 48);
        if (length > ulong.MaxValue - iova || (access & ~(NicAccess.LocalWrite | NicAccess.RemoteWrite | NicAccess.RemoteRead)) != 0)
        {
            return NicCommandStatus.BadParameter;
        }

        if ((flags & MkeyPhysical) != 0)
        {
            _mkeys[key] = new NicMkey(key, pd, access, iova, length, MinPageShift, null);
            return NicCommandStatus.Ok;
        }

        int pageShift = (int)U32(cmd, 44);
        uint entries = U32(cmd, 40);
        if (pageShift < MinPageShift || pageShift > MaxPageShift || entries > MaxMttEntries || length == 0)
        {
            return NicCommandStatus.BadParameter;
        }

        ulong pageMask = (1UL << pageShift) - 1;
        ulong needed = (((iova + length - 1) & ~pageMask) - (iova & ~pageMask) >> pageShift) + 1;
        if (entries != needed)
        {
            return NicCommandStatus.BadParameter;
        }

        ulong[] mtt = new ulong[entries];
        NicCommandStatus read = ReadMtt(new DmaAddress(U64(cmd, 32)), mtt);
        if (read != NicCommandStatus.Ok)
        {
            return read;
        }

        _mkeys[key] = new NicMkey(key, pd, access, iova, length, pageShift, mtt);
        return NicCommandStatus.Ok;
    }

    // UPDATE_MTT: [8] list address (64), [16] first entry, [20] count, [24] flags (bit 0: zap, no list).
    private NicCommandStatus UpdateMtt(uint key, ReadOnlySpan<byte> cmd)
    {
        if (!_mkeys.TryGetValue(key, out NicMkey? mkey))
        {
            return NicCommandStatus.NotFound;
        }

        if (mkey.Mtt is not ulong[] mtt)
        {
            return NicCommandStatus.BadParameter;
        }

        uint first = U32(cmd, 16);
        uint count = U32(cmd, 20);
        if (first > mtt.Length || count > mtt.Length - first)
        {
            return NicCommandStatus.BadParameter;
        }

        Span<ulong> range = mtt.AsSpan((int)first, (int)count);
        if ((U32(cmd, 24) & MttZap) != 0)
        {
            range.Clear();
            return NicCommandStatus.Ok;
        }

        return ReadMtt(new DmaAddress(U64(cmd, 8)), range);
    }

    private NicCommandStatus ReadMtt(DmaAddress list, Span<ulong> entries)
    {
        Span<byte> bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(entries);
        return Dma.Read(list, bytes).IsSuccess ? NicCommandStatus.Ok : NicCommandStatus.DmaError;
    }

    private Fabric.DmaPort Dma => _dma ?? throw new InvalidOperationException("The NIC is not attached to a fabric.");
}
