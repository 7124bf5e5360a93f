namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>Send queue WQE opcodes, numbered as Linux <c>enum ib_wr_opcode</c>.</summary>
public enum NicWrOpcode : byte
{
    RdmaWrite = 0,
    RdmaWriteWithImmediate = 1,
    Send = 2,
    SendWithImmediate = 3,
    RdmaRead = 4,
}
