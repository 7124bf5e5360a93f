namespace P2pEmu.Drivers.Rdma;

/// <summary>Linux <c>enum ib_wc_opcode</c>.</summary>
public enum IbWcOpcode
{
    Send = 0,
    RdmaWrite = 1,
    RdmaRead = 2,
    Recv = 128,
    RecvRdmaWithImm = 129,
}
