using System;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Numerics;
using System.Threading;
using P2pEmu.Dma.Mapping;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Drivers.Rdma;

/// <summary>Protection domains, completion queues, queue pairs, posting and polling (Linux verbs, <c>ib_*</c>).</summary>
public sealed partial class RdmaDev
{
    /// <summary><c>ib_alloc_pd</c>, with the PD's local DMA key.</summary>
    /// <returns>The PD, or the error creating its local DMA key.</returns>
    public Result<IbPd> AllocPd()
    {
        uint pdn = Interlocked.Increment(ref _nextPdn) - 1;
        uint key = NextKey();
        Span<byte> cmd = stackalloc byte[NicHw.CommandBytes];
        cmd.Clear();
        cmd[0] = NicHw.CmdCreateMkey;
        Put32(cmd, 4, key);
        Put64(cmd, 16, ulong.MaxValue);
        Put32(cmd, 24, (uint)IbAccessFlags.LocalWrite);
        Put32(cmd, 28, pdn);
        Put32(cmd, 48, NicHw.MkeyPhysical);
        Errno error = ExecCommand(cmd);
        return error == Errno.None ? Result.Ok(new IbPd(this, pdn, key)) : error;
    }

    /// <summary><c>ib_create_cq</c>: a CQ for at least <paramref name="cqe"/> completions, polled (no interrupt vector).</summary>
    /// <returns>The CQ; EINVAL for a size the device cannot hold; ENOMEM when every CQ number is taken.</returns>
    public Result<IbCq> CreateCq(int cqe)
    {
        if (cqe <= 0 || (uint)cqe >= MaxQueueEntries)
        {
            return Errno.EINVAL;
        }

        uint entries = BitOperations.RoundUpToPowerOf2((uint)cqe + 1);
        lock (_cqs)
        {
            int cqn = Array.IndexOf(_cqs, null);
            if (cqn < 0)
            {
                return Errno.ENOMEM;
            }

            ulong bytes = entries * NicHw.CqeBytes;
            PhysAddress ring = _dma.DmaAllocCoherent(DmaDev, bytes, out DmaAddress ringDma);
            ZeroHost(ring, bytes);
            Span<byte> cmd = stackalloc byte[NicHw.CommandBytes];
            cmd.Clear();
            cmd[0] = NicHw.CmdCreateCq;
            Put32(cmd, 4, (uint)cqn);
            Put64(cmd, 8, ringDma.Value);
            Put32(cmd, 16, entries);
            Put32(cmd, 20, NicHw.NoVector);
            Errno error = ExecCommand(cmd);
            if (error != Errno.None)
            {
                _dma.DmaFreeCoherent(DmaDev, bytes, ring, ringDma);
                return error;
            }

            var cq = new IbCq(this, (uint)cqn, entries, ring, ringDma);
            _cqs[cqn] = cq;
            return Result.Ok(cq);
        }
    }

    /// <summary><c>ib_destroy_cq</c>: EBUSY while a QP still reports to it.</summary>
    public Errno DestroyCq(IbCq cq)
    {
        ArgumentNullException.ThrowIfNull(cq);
        Errno error = Simple(NicHw.CmdDestroyCq, cq.Cqn);
        if (error == Errno.None)
        {
            lock (_cqs)
            {
                _cqs[cq.Cqn] = null;
            }

            _dma.DmaFreeCoherent(DmaDev, cq.Entries * NicHw.CqeBytes, cq.Ring, cq.RingDma);
        }

        return error;
    }

    /// <summary><c>ib_create_qp</c> with <c>IB_QPT_RC</c>: rings for <paramref name="maxSendWr"/> and <paramref name="maxRecvWr"/> WQEs.</summary>
    /// <returns>The QP (in RESET); EINVAL for ring sizes the device cannot hold or CQs of another device; ENOMEM when every QP number is taken.</returns>
    public Result<IbQp> CreateQp(IbPd pd, IbCq sendCq, IbCq recvCq, int maxSendWr, int maxRecvWr)
    {
        ArgumentNullException.ThrowIfNull(pd);
        ArgumentNullException.ThrowIfNull(sendCq);
        ArgumentNullException.ThrowIfNull(recvCq);
        if (pd.Device != this || sendCq.Device != this || recvCq.Device != this || maxSendWr <= 0 || maxRecvWr <= 0
            || (uint)maxSendWr > MaxQueueEntries || (uint)maxRecvWr > MaxQueueEntries)
        {
            return Errno.EINVAL;
        }

        uint sqEntries = BitOperations.RoundUpToPowerOf2((uint)maxSendWr);
        uint rqEntries = BitOperations.RoundUpToPowerOf2((uint)maxRecvWr);
        lock (_qps)
        {
            uint qpn = 0;
            for (uint candidate = _nextQpn; candidate < _nextQpn + MaxQp; candidate++)
            {
                uint n = 1 + ((candidate - 1) % (MaxQp - 1));
                if (!_qps.ContainsKey(n))
                {
                    qpn = n;
                    break;
                }
            }

            if (qpn == 0)
            {
                return Errno.ENOMEM;
            }

            PhysAddress sq = _dma.DmaAllocCoherent(DmaDev, sqEntries * NicHw.SendWqeBytes, out DmaAddress sqDma);
            PhysAddress rq = _dma.DmaAllocCoherent(DmaDev, rqEntries * NicHw.RecvWqeBytes, out DmaAddress rqDma);
            Span<byte> cmd = stackalloc byte[NicHw.CommandBytes];
            cmd.Clear();
            cmd[0] = NicHw.CmdCreateQp;
            Put32(cmd, 4, qpn);
            Put64(cmd, 8, sqDma.Value);
            Put32(cmd, 16, sqEntries);
            Put32(cmd, 20, rqEntries);
            Put64(cmd, 24, rqDma.Value);
            Put32(cmd, 32, sendCq.Cqn);
            Put32(cmd, 36, recvCq.Cqn);
            Put32(cmd, 40, pd.Pdn);
            Errno error = ExecCommand(cmd);
            if (error != Errno.None)
            {
                _dma.DmaFreeCoherent(DmaDev, sqEntries * NicHw.SendWqeBytes, sq, sqDma);
                _dma.DmaFreeCoherent(DmaDev, rqEntries * NicHw.RecvWqeBytes, rq, rqDma);
                return error;
            }

            _nextQpn = qpn + 1;
            var qp = new IbQp(pd, qpn, sendCq, recvCq, sqEntries, rqEntries, sq, sqDma, rq, rqDma);
            _qps[qpn] = qp;
            return Result.Ok(qp);
        }
    }

    /// <summary><c>ib_modify_qp</c>: moves the QP to <see cref="IbQpAttr.QpState"/> with the attributes that transition uses.</summary>
    /// <returns>None; EINVAL for a transition the state machine does not allow or a bad attribute (an MTU the device does not support).</returns>
    public Errno ModifyQp(IbQp qp, IbQpAttr attr)
    {
        ArgumentNullException.ThrowIfNull(qp);
        ArgumentNullException.ThrowIfNull(attr);
        Span<byte> cmd = stackalloc byte[NicHw.CommandBytes];
        cmd.Clear();
        cmd[0] = NicHw.CmdModifyQp;
        Put32(cmd, 4, qp.QpNum);
        Put32(cmd, 8, (uint)attr.QpState);
        Put32(cmd, 12, attr.DestQpNum);
        Put64(cmd, 16, attr.DestMac);
        Put32(cmd, 24, attr.DestIp);
        Put32(cmd, 28, attr.RqPsn);
        Put32(cmd, 32, attr.SqPsn);
        Put32(cmd, 36, (uint)attr.PathMtu);
        Put32(cmd, 40, (uint)attr.QpAccessFlags);
        cmd[44] = (byte)Math.Clamp(attr.RetryCnt, 0, 7);
        cmd[45] = (byte)Math.Clamp(attr.RnrRetry, 0, 7);
        Errno error = ExecCommand(cmd);
        if (error == Errno.None)
        {
            qp.State = attr.QpState;
            if (attr.QpState == IbQpState.Reset)
            {
                qp.SqProducer = qp.SqHead = qp.RqProducer = qp.RqHead = 0;
            }
        }

        return error;
    }

    /// <summary><c>ib_destroy_qp</c>.</summary>
    public Errno DestroyQp(IbQp qp)
    {
        ArgumentNullException.ThrowIfNull(qp);
        Errno error = Simple(NicHw.CmdDestroyQp, qp.QpNum);
        if (error == Errno.None)
        {
            lock (_qps)
            {
                _qps.Remove(qp.QpNum);
            }

            _dma.DmaFreeCoherent(DmaDev, qp.SqEntries * NicHw.SendWqeBytes, qp.Sq, qp.SqDma);
            _dma.DmaFreeCoherent(DmaDev, qp.RqEntries * NicHw.RecvWqeBytes, qp.Rq, qp.RqDma);
        }

        return error;
    }

    /// <summary>
    /// <c>ib_post_send</c>: writes the WQE and rings the QP's send doorbell. EINVAL before RTR→RTS (a QP in Error
    /// takes WQEs and flushes them), for more SGEs than the device holds, an opcode or flag it does not support
    /// (INLINE); ENOMEM when the send queue is full.
    /// </summary>
    public Errno PostSend(IbQp qp, IbSendWr wr)
    {
        unchecked
        {
            ArgumentNullException.ThrowIfNull(qp);
            ArgumentNullException.ThrowIfNull(wr);
            if (qp.State is not (IbQpState.Rts or IbQpState.Err) || wr.SgList.Count > NicHw.MaxSendSges
                || wr.Opcode is < IbWrOpcode.RdmaWrite or > IbWrOpcode.RdmaRead || (wr.SendFlags & IbSendFlags.Inline) != 0)
            {
                return Errno.EINVAL;
            }

            if (qp.SqProducer - qp.SqHead >= qp.SqEntries)
            {
                return Errno.ENOMEM;
            }

            Span<byte> wqe = stackalloc byte[NicHw.SendWqeBytes];
            wqe.Clear();
            wqe[0] = (byte)wr.Opcode;
            wqe[1] = (byte)wr.SendFlags;
            BinaryPrimitives.WriteUInt16LittleEndian(wqe[2..], (ushort)wr.SgList.Count);
            Put32(wqe, 4, wr.ImmData);
            Put64(wqe, 8, wr.WrId);
            Put64(wqe, 16, wr.RemoteAddr);
            Put32(wqe, 24, wr.Rkey);
            WriteSges(wqe[32..], wr.SgList);
            _cpu.Write(qp.Sq.Value + ((ulong)(qp.SqProducer & (qp.SqEntries - 1)) * NicHw.SendWqeBytes), wqe);
            NicEventSource log = NicEventSource.Log;
            if (log.IsEnabled())
            {
                long[] postedAt = qp.PostedAt ??= new long[qp.SqEntries];
                postedAt[qp.SqProducer & (qp.SqEntries - 1)] = Stopwatch.GetTimestamp();
                log.PostSend(QpTag(qp.QpNum), ((long)wr.Opcode << 32) | qp.SqProducer, SgeBytes(wr));
            }

            qp.SqProducer++;
            Writel(NicHw.QpDoorbells + (qp.QpNum * 8), qp.SqProducer);
            return Errno.None;
        }
    }

    /// <summary><c>ib_post_recv</c>: EINVAL in RESET or for too many SGEs; ENOMEM when the receive queue is full.</summary>
    public Errno PostRecv(IbQp qp, IbRecvWr wr)
    {
        unchecked
        {
            ArgumentNullException.ThrowIfNull(qp);
            ArgumentNullException.ThrowIfNull(wr);
            if (qp.State == IbQpState.Reset || wr.SgList.Count > NicHw.MaxRecvSges)
            {
                return Errno.EINVAL;
            }

            if (qp.RqProducer - qp.RqHead >= qp.RqEntries)
            {
                return Errno.ENOMEM;
            }

            Span<byte> wqe = stackalloc byte[NicHw.RecvWqeBytes];
            wqe.Clear();
            Put64(wqe, 0, wr.WrId);
            BinaryPrimitives.WriteUInt16LittleEndian(wqe[8..], (ushort)wr.SgList.Count);
            WriteSges(wqe[16..], wr.SgList);
            _cpu.Write(qp.Rq.Value + ((ulong)(qp.RqProducer & (qp.RqEntries - 1)) * NicHw.RecvWqeBytes), wqe);
            qp.RqProducer++;
            Writel(NicHw.QpDoorbells + (qp.QpNum * 8) + 4, qp.RqProducer);
            return Errno.None;
        }
    }

    private static void WriteSges(Span<byte> at, System.Collections.Generic.IReadOnlyList<IbSge> sges)
    {
        for (int i = 0; i < sges.Count; i++)
        {
            Span<byte> sge = at.Slice(16 * i, 16);
            Put64(sge, 0, sges[i].Addr);
            Put32(sge, 8, sges[i].Length);
            Put32(sge, 12, sges[i].Lkey);
        }
    }

    /// <summary><c>ib_poll_cq</c>: takes up to <paramref name="wc"/>.Length completions, oldest first.</summary>
    /// <returns>How many were taken.</returns>
    public int PollCq(IbCq cq, Span<IbWc> wc)
    {
        unchecked
        {
            ArgumentNullException.ThrowIfNull(cq);
            Span<byte> cqe = stackalloc byte[NicHw.CqeBytes];
            int taken = 0;
            while (taken < wc.Length)
            {
                _cpu.Read(cq.Ring.Value + ((ulong)(cq.Consumer & (cq.Entries - 1)) * NicHw.CqeBytes), cqe);
                byte phase = (byte)(((cq.Consumer / cq.Entries) & 1) == 0 ? 1 : 0);
                if (cqe[23] != phase)
                {
                    break;
                }

                var opcode = (IbWcOpcode)cqe[21];
                uint qpn = BinaryPrimitives.ReadUInt32LittleEndian(cqe[16..]);
                uint last = BinaryPrimitives.ReadUInt32LittleEndian(cqe[28..]);
                bool isSend = ((int)opcode & 0x80) == 0;
                IbQp? qp;
                lock (_qps)
                {
                    _qps.TryGetValue(qpn, out qp);
                }

                if (qp is not null)
                {
                    if (isSend)
                    {
                        qp.SqHead = last + 1;
                    }
                    else
                    {
                        qp.RqHead++;
                    }
                }

                NicEventSource log = NicEventSource.Log;
                if (log.IsEnabled())
                {
                    long status = ((long)cqe[21] << 8) | cqe[20];
                    if (!isSend)
                    {
                        log.RecvCompletion(QpTag(qpn), status, BinaryPrimitives.ReadUInt32LittleEndian(cqe[8..]));
                    }
                    else if (qp?.PostedAt is { } postedAt && postedAt[last & (qp.SqEntries - 1)] is long posted and not 0)
                    {
                        log.SendCompletion(QpTag(qpn), status, (long)Stopwatch.GetElapsedTime(posted).TotalNanoseconds);
                    }
                }

                wc[taken++] = new IbWc(
                    WrId: BinaryPrimitives.ReadUInt64LittleEndian(cqe),
                    Status: (IbWcStatus)cqe[20],
                    Opcode: opcode,
                    ByteLen: BinaryPrimitives.ReadUInt32LittleEndian(cqe[8..]),
                    ImmData: BinaryPrimitives.ReadUInt32LittleEndian(cqe[12..]),
                    WithImm: (cqe[22] & 2) != 0,
                    QpNum: qpn,
                    SrcQp: isSend ? 0 : last,
                    VendorErr: BinaryPrimitives.ReadUInt32LittleEndian(cqe[24..]));
                cq.Consumer++;
            }

            if (taken > 0)
            {
                Writel(NicHw.CqDoorbells + (cq.Cqn * 4), cq.Consumer);
                Interlocked.Add(ref _completionsPolled, taken);
            }

            return taken;
        }
    }

    /// <summary>A QP for <see cref="NicEventSource"/>: this device's instance and the QP number.</summary>
    private long QpTag(uint qpn) => ((long)Instance << 24) | qpn;

    private static long SgeBytes(IbSendWr wr)
    {
        long bytes = 0;
        foreach (IbSge sge in wr.SgList)
        {
            bytes += sge.Length;
        }

        return bytes;
    }

    /// <summary><c>ib_dma_map_sgtable_attrs</c>: maps a kernel table for the NIC (P2P segments by their map type).</summary>
    public Errno IbDmaMapSgtable(SgTable sgt, DmaDirection dir) => _dma.DmaMapSgtable(DmaDev, sgt, dir);

    /// <summary><c>ib_dma_unmap_sgtable_attrs</c>.</summary>
    public void IbDmaUnmapSgtable(SgTable sgt, DmaDirection dir) => _dma.DmaUnmapSgtable(DmaDev, sgt, dir);

    private Errno Simple(byte opcode, uint index)
    {
        Span<byte> cmd = stackalloc byte[NicHw.CommandBytes];
        cmd.Clear();
        cmd[0] = opcode;
        Put32(cmd, 4, index);
        return ExecCommand(cmd);
    }

    private uint NextKey() => Interlocked.Add(ref _nextKey, 0x100);

    private void ZeroHost(PhysAddress at, ulong bytes)
    {
        Span<byte> zero = stackalloc byte[256];
        zero.Clear();
        for (ulong done = 0; done < bytes; done += (ulong)zero.Length)
        {
            _cpu.Write(at.Value + done, zero[..(int)Math.Min((ulong)zero.Length, bytes - done)]);
        }
    }
}
