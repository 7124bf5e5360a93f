namespace P2pEmu.Drivers.Rdma;

/// <summary>Linux <c>enum ib_qp_state</c>.</summary>
public enum IbQpState
{
    Reset = 0,
    Init = 1,
    Rtr = 2,
    Rts = 3,
    Sqd = 4,
    Sqe = 5,
    Err = 6,
}
