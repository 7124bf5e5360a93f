namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>What CMD_STATUS reads after a command.</summary>
public enum NicCommandStatus : uint
{
    Ok = 0,
    BadOpcode = 1,

    /// <summary>The QP, CQ or mkey number is out of the device's range.</summary>
    BadIndex = 2,

    /// <summary>The object exists already, or is still in use (a CQ a QP reports to).</summary>
    InUse = 3,

    NotFound = 4,

    /// <summary>A field is out of range: ring size, MTU, page shift, length, a CQ that does not exist.</summary>
    BadParameter = 5,

    /// <summary>A QP state transition the IB state machine does not allow.</summary>
    BadState = 6,

    /// <summary>Reading the command block or an MTT list failed on the fabric.</summary>
    DmaError = 7,

    /// <summary>CTRL.EN is clear.</summary>
    NotEnabled = 8,
}
