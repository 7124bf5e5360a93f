using System;
using P2pEmu.Drivers.Rdma;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Machine.Scenarios;

/// <summary>Two RDMA devices at the ends of a cable, each with a PD, a CQ and an RC QP connected to the other's.</summary>
internal sealed class RdmaPair
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
            return b.Error;
        }

        Errno error = a.Value.ConnectTo(b.Value, mtu);
        if (error == Errno.None)
        {
            error = b.Value.ConnectTo(a.Value, mtu);
        }

        return error == Errno.None ? Result.Ok(new RdmaPair(a.Value, b.Value)) : error;
    }

    /// <summary>One end's verbs objects.</summary>
    internal sealed class RdmaEnd
    {
        private readonly IbWc[] _wc = new IbWc[1];

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
            var sgt = new P2pEmu.Dma.Mapping.SgTable([new P2pEmu.Dma.Mapping.Scatterlist(new P2pEmu.Emulator.Addressing.PhysAddress(address), (uint)bytes)]);
            Errno mapped = Dev.IbDmaMapSgtable(sgt, P2pEmu.Dma.Mapping.DmaDirection.Bidirectional);
            return mapped == Errno.None ? Dev.RegMrSg(Pd, sgt, iova, AllAccess) : mapped;
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
