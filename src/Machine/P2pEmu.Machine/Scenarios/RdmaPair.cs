using System;
using System.Collections.Generic;
using P2pEmu.Dma.Mapping;
using P2pEmu.Drivers.Rdma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Machine.Scenarios;

/// <summary>
/// Two RDMA devices at the ends of a cable, each with a PD, a CQ and an RC QP connected to the other's. Disposing it
/// deregisters the regions its ends registered or adopted, unmaps their tables and destroys both QPs and CQs, as a
/// process leaving its verbs context does.
/// </summary>
internal sealed class RdmaPair : IDisposable
{
    public const IbAccessFlags AllAccess = IbAccessFlags.LocalWrite | IbAccessFlags.RemoteWrite | IbAccessFlags.RemoteRead;

    private RdmaPair(RdmaEnd requester, RdmaEnd responder)
    {
        Requester = requester;
        Responder = responder;
    }

    public RdmaEnd Requester { get; }

    public RdmaEnd Responder { get; }

    /// <summary>Creates both ends and moves both QPs to RTS; the first error stops it.</summary>
    public static Result<RdmaPair> Connect(RdmaDev requester, RdmaDev responder, int mtu)
    {
        Result<RdmaEnd> a = RdmaEnd.Create(requester);
        if (!a.IsSuccess)
        {
            return a.Error;
        }

        Result<RdmaEnd> b = RdmaEnd.Create(responder);
        if (!b.IsSuccess)
        {
            a.Value.Destroy();
            return b.Error;
        }

        Errno error = a.Value.ConnectTo(b.Value, mtu);
        if (error == Errno.None)
        {
            error = b.Value.ConnectTo(a.Value, mtu);
        }

        if (error != Errno.None)
        {
            a.Value.Destroy();
            b.Value.Destroy();
            return error;
        }

#pragma warning disable CA2000 // the caller owns the pair
        return Result.Ok(new RdmaPair(a.Value, b.Value));
#pragma warning restore CA2000
    }

    public void Dispose()
    {
        Requester.Destroy();
        Responder.Destroy();
    }

    /// <summary>One end's verbs objects.</summary>
    internal sealed class RdmaEnd
    {
        private readonly IbWc[] _wc = new IbWc[1];
        private readonly Dictionary<IbMr, SgTable?> _registered = new();

        private RdmaEnd(RdmaDev dev, IbPd pd, IbCq cq, IbQp qp)
        {
            Dev = dev;
            Pd = pd;
            Cq = cq;
            Qp = qp;
        }

        public RdmaDev Dev { get; }

        public IbPd Pd { get; }

        public IbCq Cq { get; }

        public IbQp Qp { get; }

        public static Result<RdmaEnd> Create(RdmaDev dev)
        {
            Result<IbPd> pd = dev.AllocPd();
            if (!pd.IsSuccess)
            {
                return pd.Error;
            }

            Result<IbCq> cq = dev.CreateCq(1023);
            if (!cq.IsSuccess)
            {
                return cq.Error;
            }

            Result<IbQp> qp = dev.CreateQp(pd.Value, cq.Value, cq.Value, 256, 256);
            return qp.IsSuccess ? Result.Ok(new RdmaEnd(dev, pd.Value, cq.Value, qp.Value)) : qp.Error;
        }

        public Errno ConnectTo(RdmaEnd peer, int mtu)
        {
            Errno error = Dev.ModifyQp(Qp, new IbQpAttr { QpState = IbQpState.Init, QpAccessFlags = AllAccess });
            if (error == Errno.None)
            {
                error = Dev.ModifyQp(Qp, new IbQpAttr
                {
                    QpState = IbQpState.Rtr, DestQpNum = peer.Qp.QpNum, DestMac = peer.Dev.Mac, DestIp = peer.Dev.Ipv4, PathMtu = mtu,
                });
            }

            return error == Errno.None ? Dev.ModifyQp(Qp, new IbQpAttr { QpState = IbQpState.Rts }) : error;
        }

        /// <summary>
        /// Maps the physically contiguous [<paramref name="address"/>, +<paramref name="bytes"/>) for this NIC
        /// (<c>ib_dma_map_sgtable</c>, P2P by its map type) and registers it at <paramref name="iova"/> with every right.
        /// </summary>
        public Result<IbMr> RegisterContiguous(ulong address, ulong bytes, ulong iova)
        {
            var sgt = new SgTable([new Scatterlist(new PhysAddress(address), (uint)bytes)]);
            Errno mapped = Dev.IbDmaMapSgtable(sgt, DmaDirection.Bidirectional);
            if (mapped != Errno.None)
            {
                return mapped;
            }

            Result<IbMr> mr = Dev.RegMrSg(Pd, sgt, iova, AllAccess);
            if (!mr.IsSuccess)
            {
                Dev.IbDmaUnmapSgtable(sgt, DmaDirection.Bidirectional);
                return mr.Error;
            }

            _registered.Add(mr.Value, sgt);
            return mr;
        }

        /// <summary>Takes <paramref name="mr"/>, registered by other means (over <paramref name="sgt"/>, mapped for this end), to deregister with the rest.</summary>
        public void Adopt(IbMr mr, SgTable? sgt = null) => _registered.Add(mr, sgt);

        /// <summary><c>ib_dereg_mr</c>, then the unmap of the table it was registered over; nothing for a region this end does not hold.</summary>
        public void Deregister(IbMr? mr)
        {
            if (mr is not null && _registered.Remove(mr, out SgTable? sgt))
            {
                Dev.DeregMr(mr);
                if (sgt is not null)
                {
                    Dev.IbDmaUnmapSgtable(sgt, DmaDirection.Bidirectional);
                }
            }
        }

        /// <summary>Deregisters every region, then destroys the QP and the CQ.</summary>
        public void Destroy()
        {
            foreach (IbMr mr in new List<IbMr>(_registered.Keys))
            {
                Deregister(mr);
            }

            Dev.DestroyQp(Qp);
            Dev.DestroyCq(Cq);
        }

        /// <summary>Posts a signaled WR and waits (at most <paramref name="timeout"/>) for its completion.</summary>
        /// <returns>The completion; null when it did not come (or the post failed: <paramref name="posted"/> says how).</returns>
        public IbWc? Run(IbSendWr wr, TimeSpan timeout, out Errno posted)
        {
            posted = Dev.PostSend(Qp, wr with { SendFlags = wr.SendFlags | IbSendFlags.Signaled });
            return posted == Errno.None ? Wait(timeout) : null;
        }

        /// <summary>The next completion on the CQ, polled until <paramref name="timeout"/>.</summary>
        public IbWc? Wait(TimeSpan timeout)
        {
            long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
            do
            {
                if (Dev.PollCq(Cq, _wc) == 1)
                {
                    return _wc[0];
                }

                System.Threading.Thread.Yield();
            }
            while (Environment.TickCount64 < deadline);

            return null;
        }
    }
}
