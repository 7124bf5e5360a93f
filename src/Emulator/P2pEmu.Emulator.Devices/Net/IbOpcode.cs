namespace P2pEmu.Emulator.Devices.Net;

/// <summary>
/// The Reliable Connected opcodes of the Base Transport Header (IBA vol. 1, 9.2 "Base Transport Header",
/// table "OpCode Field"): transport service RC is 000b in bits 7:5, so each value is the 5-bit operation.
/// </summary>
public enum IbOpcode : byte
{
    /// <summary>SEND First.</summary>
    RcSendFirst = 0x00,

    /// <summary>SEND Middle.</summary>
    RcSendMiddle = 0x01,

    /// <summary>SEND Last.</summary>
    RcSendLast = 0x02,

    /// <summary>SEND Last with Immediate (BTH, ImmDt).</summary>
    RcSendLastWithImmediate = 0x03,

    /// <summary>SEND Only.</summary>
    RcSendOnly = 0x04,

    /// <summary>SEND Only with Immediate (BTH, ImmDt).</summary>
    RcSendOnlyWithImmediate = 0x05,

    /// <summary>RDMA WRITE First (BTH, RETH).</summary>
    RcRdmaWriteFirst = 0x06,

    /// <summary>RDMA WRITE Middle.</summary>
    RcRdmaWriteMiddle = 0x07,

    /// <summary>RDMA WRITE Last.</summary>
    RcRdmaWriteLast = 0x08,

    /// <summary>RDMA WRITE Last with Immediate (BTH, ImmDt).</summary>
    RcRdmaWriteLastWithImmediate = 0x09,

    /// <summary>RDMA WRITE Only (BTH, RETH).</summary>
    RcRdmaWriteOnly = 0x0A,

    /// <summary>RDMA WRITE Only with Immediate (BTH, RETH, ImmDt).</summary>
    RcRdmaWriteOnlyWithImmediate = 0x0B,

    /// <summary>RDMA READ Request (BTH, RETH; no payload).</summary>
    RcRdmaReadRequest = 0x0C,

    /// <summary>RDMA READ Response First (BTH, AETH).</summary>
    RcRdmaReadResponseFirst = 0x0D,

    /// <summary>RDMA READ Response Middle (BTH only).</summary>
    RcRdmaReadResponseMiddle = 0x0E,

    /// <summary>RDMA READ Response Last (BTH, AETH).</summary>
    RcRdmaReadResponseLast = 0x0F,

    /// <summary>RDMA READ Response Only (BTH, AETH).</summary>
    RcRdmaReadResponseOnly = 0x10,

    /// <summary>Acknowledge (BTH, AETH; no payload).</summary>
    RcAcknowledge = 0x11,
}
