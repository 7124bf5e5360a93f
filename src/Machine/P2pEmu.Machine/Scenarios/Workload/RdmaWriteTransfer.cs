using System;
using System.Collections.Generic;
using System.Linq;
using P2pEmu.Drivers.Rdma;
using P2pEmu.Emulator.Devices.Nic;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Machine.Scenarios.Workload;

/// <summary>
/// The RDMA paths: the <c>from</c> NIC RDMA WRITEs chunks out of a host buffer across its link into a region the far
/// NIC registered, up to <c>queueDepth</c> work requests in flight. An error completion puts the QP in the error state:
/// the rest of what was posted is flushed (<c>IB_WC_WR_FLUSH_ERR</c>) and nothing more is sent.
/// </summary>
internal abstract class RdmaWriteTransfer : ChunkedTransfer
{
    protected const ulong RemoteIova = 0x90_0000_0000;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);
    private HostBuffer? _source;
    private IbMr? _local;
    private IbMr? _remote;
    private bool _broken;

    protected RdmaWriteTransfer(Machine machine, WorkloadTransfer spec, int seed)
        : base(machine, spec, seed)
    {
    }

    protected RdmaPair? Pair { get; private set; }

    public override void Setup()
    {
        RdmaDev sender = Machine.RdmaDevices[Spec.From];
        NicLinkPeer(sender, out RdmaDev? receiver);
        Result<RdmaPair> pair = RdmaPair.Connect(sender, receiver!, 4096);
        if (!pair.IsSuccess)
        {
            SetupError = $"connecting the QPs: -{pair.Error}";
            return;
        }

        Pair = pair.Value;
        _source = HostBuffer.Allocate(Machine, Spec.Offset + Spec.Size);
        Result<IbMr> local = _source is null ? Errno.ENOMEM : Pair.Requester.RegisterContiguous(_source.Address, Spec.Offset + Spec.Size, 0x80_0000_0000);
        if (!local.IsSuccess)
        {
            SetupError = $"{sender.Name}: registering the source: -{local.Error}";
            return;
        }

        _local = local.Value;
        Data.CopyTo(_source!.Writable[(int)Spec.Offset..]);
        _remote = RegisterTarget(Pair.Responder);
        if (_remote is not null && SetupError is null)
        {
            TargetBefore = TargetNow();
        }
    }

    /// <summary>Takes the target memory and registers it at the far end (which owns it then); null with <see cref="ChunkedTransfer.SetupError"/> set on failure.</summary>
    protected abstract IbMr? RegisterTarget(RdmaPair.RdmaEnd far);

    protected override void Move(int first, int end)
    {
        var posted = new Queue<int>();
        int next = first;
        while (next < end || posted.Count > 0)
        {
            while (!_broken && next < end && posted.Count < Spec.QueueDepth)
            {
                ulong at = Spec.Offset + ChunkOffset(next);
                var wr = new IbSendWr
                {
                    WrId = (ulong)next,
                    Opcode = IbWrOpcode.RdmaWrite,
                    SendFlags = IbSendFlags.Signaled,
                    SgList = [new IbSge(_local!.Iova + at, (uint)Spec.ChunkBytes(next), _local.Lkey)],
                    RemoteAddr = _remote!.Iova + at,
                    Rkey = _remote.Rkey,
                };
                Errno error = Pair!.Requester.Dev.PostSend(Pair.Requester.Qp, wr);
                if (error != Errno.None)
                {
                    Failed(next++, 0, $"ib_post_send: -{error}");
                    continue;
                }

                posted.Enqueue(next++);
            }

            if (posted.Count == 0)
            {
                for (; next < end; next++)
                {
                    Failed(next, 0, "not sent: the QP is in the error state");
                }

                break;
            }

            int chunk = posted.Dequeue();
            IbWc? wc = Pair!.Requester.Wait(s_timeout);
            if (wc is { Status: IbWcStatus.Success })
            {
                Delivered(chunk, (long)Spec.ChunkBytes(chunk));
            }
            else
            {
                _broken = true;
                Failed(chunk, 0, IbWcText.Of(wc, Errno.None));
            }
        }
    }

    public override void Dispose()
    {
        Pair?.Dispose();
        _source?.Dispose();
    }

    private void NicLinkPeer(RdmaDev sender, out RdmaDev? receiver)
    {
        NicLinkInfo link = Machine.NicLinks.First(l => l.A == sender.Pdev.Name || l.B == sender.Pdev.Name);
        receiver = Machine.RdmaDevices[link.A == sender.Pdev.Name ? link.B : link.A];
    }
}
