using P2pEmu.Emulator.Addressing;

namespace P2pEmu.Drivers.Rdma;

/// <summary>Linux <c>struct ib_qp</c>: a reliable-connected queue pair with its send and receive rings.</summary>
public sealed class IbQp
{
    internal IbQp(IbPd pd, uint qpn, IbCq sendCq, IbCq recvCq, uint sqEntries, uint rqEntries, PhysAddress sq, DmaAddress sqDma, PhysAddress rq, DmaAddress rqDma)
    {
        Pd = pd;
        QpNum = qpn;
        SendCq = sendCq;
        RecvCq = recvCq;
        SqEntries = sqEntries;
        RqEntries = rqEntries;
        Sq = sq;
        SqDma = sqDma;
        Rq = rq;
        RqDma = rqDma;
    }

    public IbPd Pd { get; }

    public uint QpNum { get; }

    public IbCq SendCq { get; }

    public IbCq RecvCq { get; }

    public uint SqEntries { get; }

    public uint RqEntries { get; }

    /// <summary>The state the driver last moved the QP to (the device may have moved it to Error since).</summary>
    public IbQpState State { get; internal set; }

    internal PhysAddress Sq { get; }

    internal DmaAddress SqDma { get; }

    internal PhysAddress Rq { get; }

    internal DmaAddress RqDma { get; }

    /// <summary>Send WQEs posted (free-running).</summary>
    internal uint SqProducer { get; set; }

    /// <summary>Send WQEs the device finished, as far as completions told (free-running).</summary>
    internal uint SqHead { get; set; }

    internal uint RqProducer { get; set; }

    internal uint RqHead { get; set; }

    /// <summary>When each send WQE was posted (<see cref="System.Diagnostics.Stopwatch"/> ticks, by index modulo the ring), while <see cref="NicEventSource"/> listens.</summary>
    internal long[]? PostedAt { get; set; }

    public override string ToString() => $"qp {QpNum} on {Pd.Device.Name}";
}
