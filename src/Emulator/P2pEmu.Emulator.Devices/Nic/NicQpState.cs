namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>Queue pair states, numbered as Linux <c>enum ib_qp_state</c>.</summary>
public enum NicQpState : uint
{
    Reset = 0,
    Init = 1,
    ReadyToReceive = 2,
    ReadyToSend = 3,
    Error = 6,
}
