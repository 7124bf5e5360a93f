namespace P2pEmu.Drivers.Rdma;

/// <summary>Linux <c>enum ib_wr_opcode</c> (the ones this device supports).</summary>
public enum IbWrOpcode
{
    RdmaWrite = 0,
    RdmaWriteWithImm = 1,
    Send = 2,
    SendWithImm = 3,
    RdmaRead = 4,
}
