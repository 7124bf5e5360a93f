using System.Collections.Generic;

namespace P2pEmu.Drivers.Rdma;

/// <summary>Linux <c>struct ib_recv_wr</c>.</summary>
public sealed record IbRecvWr
{
    public ulong WrId { get; init; }

    public IReadOnlyList<IbSge> SgList { get; init; } = [];
}
