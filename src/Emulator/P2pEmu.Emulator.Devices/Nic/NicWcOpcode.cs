namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>CQE opcodes, numbered as Linux <c>enum ib_wc_opcode</c>.</summary>
public enum NicWcOpcode : byte
{
    Send = 0,
    RdmaWrite = 1,
    RdmaRead = 2,
    Recv = 128,
    RecvRdmaWithImmediate = 129,
}
