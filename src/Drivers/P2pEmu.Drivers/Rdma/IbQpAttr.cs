namespace P2pEmu.Drivers.Rdma;

/// <summary>
/// Linux <c>struct ib_qp_attr</c>, the fields an RC QP over RoCEv2 uses: the state to go to, the access rights remote
/// peers get (INIT), the path (RTR: the peer's QP number, MAC and IPv4 address — the address handle of
/// <c>rdma_ah_attr</c>, with the IPv4-mapped GID reduced to the address — its first PSN, the path MTU in bytes), and
/// the send side (RTS: first PSN, retry counts; an RNR retry of 7 means retry for ever, as in InfiniBand).
/// </summary>
public sealed record IbQpAttr
{
    public IbQpState QpState { get; init; }

    public IbAccessFlags QpAccessFlags { get; init; }

    public uint DestQpNum { get; init; }

    public ulong DestMac { get; init; }

    public uint DestIp { get; init; }

    public uint RqPsn { get; init; }

    public uint SqPsn { get; init; }

    public int PathMtu { get; init; } = 4096;

    public int RetryCnt { get; init; } = 7;

    public int RnrRetry { get; init; } = 7;
}
