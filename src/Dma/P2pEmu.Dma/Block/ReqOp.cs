namespace P2pEmu.Dma.Block;

/// <summary>Linux <c>enum req_op</c>: what a bio or request does.</summary>
public enum ReqOp : byte
{
    /// <summary><c>REQ_OP_READ</c>: device to memory.</summary>
    Read = 0,

    /// <summary><c>REQ_OP_WRITE</c>: memory to device.</summary>
    Write = 1,

    /// <summary><c>REQ_OP_DRV_IN</c>: a driver-private (passthrough) command that moves data to memory.</summary>
    DrvIn = 34,

    /// <summary><c>REQ_OP_DRV_OUT</c>: a driver-private (passthrough) command that moves data to the device.</summary>
    DrvOut = 35,
}
