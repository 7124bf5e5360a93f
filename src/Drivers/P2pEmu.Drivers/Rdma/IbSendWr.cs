using System.Collections.Generic;

namespace P2pEmu.Drivers.Rdma;

/// <summary>Linux <c>struct ib_send_wr</c> with its <c>ib_rdma_wr</c> part (remote address and rkey).</summary>
public sealed record IbSendWr
{
    public ulong WrId { get; init; }

    public IbWrOpcode Opcode { get; init; }

    public IbSendFlags SendFlags { get; init; } = IbSendFlags.Signaled;

    public IReadOnlyList<IbSge> SgList { get; init; } = [];

    public uint ImmData { get; init; }

    public ulong RemoteAddr { get; init; }

    public uint Rkey { get; init; }
}
