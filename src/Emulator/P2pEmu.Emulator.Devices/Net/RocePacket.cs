namespace P2pEmu.Emulator.Devices.Net;

/// <summary>
/// The decoded headers of one RoCEv2 packet: Ethernet II, IPv4, UDP, the Base Transport Header and the
/// extension headers its opcode carries (RETH, AETH, ImmDt). <see cref="RoceCodec"/> writes and reads it.
/// </summary>
/// <remarks>
/// Fields an opcode does not carry are ignored when writing and zero after reading. The 24-bit fields
/// (<see cref="DestinationQp"/>, <see cref="Psn"/>, <see cref="Msn"/>) are truncated to 24 bits on the wire.
/// <c>default(RocePacket)</c> has <see cref="PartitionKey"/> 0; <c>new RocePacket()</c> has the default P_Key 0xFFFF.
/// </remarks>
public struct RocePacket
{
    /// <summary>The default full-membership partition key (IBA 10.9.1.2; Linux <c>IB_DEFAULT_PKEY_FULL</c>).</summary>
    public const ushort DefaultPartitionKey = 0xFFFF;

    /// <summary>A packet with the default partition key 0xFFFF and every other field zero.</summary>
    public RocePacket()
    {
        PartitionKey = DefaultPartitionKey;
    }

    /// <summary>Ethernet destination address.</summary>
    public MacAddress DestinationMac { get; set; }

    /// <summary>Ethernet source address.</summary>
    public MacAddress SourceMac { get; set; }

    /// <summary>IPv4 source address, host order (10.0.0.1 is 0x0A000001).</summary>
    public uint SourceIp { get; set; }

    /// <summary>IPv4 destination address, host order.</summary>
    public uint DestinationIp { get; set; }

    /// <summary>UDP source port; RoCEv2 uses it as flow entropy (the destination port is always 4791).</summary>
    public ushort UdpSourcePort { get; set; }

    /// <summary>BTH OpCode.</summary>
    public IbOpcode Opcode { get; set; }

    /// <summary>BTH SE: the responder raises a completion event for this message.</summary>
    public bool SolicitedEvent { get; set; }

    /// <summary>BTH A: the requester asks for an acknowledgement of this packet.</summary>
    public bool AckRequest { get; set; }

    /// <summary>BTH PadCnt: 0–3 bytes that pad the payload to a multiple of four. <see cref="RoceCodec.WriteHeaders"/> sets it.</summary>
    public int PadCount { get; set; }

    /// <summary>BTH P_Key.</summary>
    public ushort PartitionKey { get; set; }

    /// <summary>BTH DestQP (24 bits).</summary>
    public uint DestinationQp { get; set; }

    /// <summary>BTH PSN (24 bits).</summary>
    public uint Psn { get; set; }

    /// <summary>RETH Virtual Address.</summary>
    public ulong VirtualAddress { get; set; }

    /// <summary>RETH R_Key.</summary>
    public uint RKey { get; set; }

    /// <summary>RETH DMA Length: the whole message's length in bytes.</summary>
    public uint DmaLength { get; set; }

    /// <summary>AETH Syndrome (see <see cref="AethSyndrome"/>).</summary>
    public byte Syndrome { get; set; }

    /// <summary>AETH MSN (24 bits).</summary>
    public uint Msn { get; set; }

    /// <summary>ImmDt, the four bytes read as a big-endian number (verbs hand them through as <c>__be32</c>).</summary>
    public uint Immediate { get; set; }

    /// <summary>Whether <paramref name="opcode"/> carries a RETH: RDMA WRITE First and Only (with or without immediate) and RDMA READ Request.</summary>
    public static bool HasReth(IbOpcode opcode) => opcode is IbOpcode.RcRdmaWriteFirst or IbOpcode.RcRdmaWriteOnly
        or IbOpcode.RcRdmaWriteOnlyWithImmediate or IbOpcode.RcRdmaReadRequest;

    /// <summary>Whether <paramref name="opcode"/> carries an AETH: RDMA READ Response First, Last and Only, and Acknowledge.</summary>
    public static bool HasAeth(IbOpcode opcode) => opcode is IbOpcode.RcRdmaReadResponseFirst or IbOpcode.RcRdmaReadResponseLast
        or IbOpcode.RcRdmaReadResponseOnly or IbOpcode.RcAcknowledge;

    /// <summary>Whether <paramref name="opcode"/> carries an ImmDt: the four "…WithImmediate" opcodes.</summary>
    public static bool HasImmediate(IbOpcode opcode) => opcode is IbOpcode.RcSendLastWithImmediate or IbOpcode.RcSendOnlyWithImmediate
        or IbOpcode.RcRdmaWriteLastWithImmediate or IbOpcode.RcRdmaWriteOnlyWithImmediate;

    /// <summary>Whether <paramref name="opcode"/> may carry a payload: every opcode except RDMA READ Request and Acknowledge.</summary>
    public static bool HasPayload(IbOpcode opcode) => opcode is not (IbOpcode.RcRdmaReadRequest or IbOpcode.RcAcknowledge);

    /// <summary>The length of the transport headers <paramref name="opcode"/> carries: the BTH and its extension headers.</summary>
    public static int TransportHeaderBytes(IbOpcode opcode) => RoceCodec.BthBytes
        + (HasReth(opcode) ? RoceCodec.RethBytes : 0)
        + (HasAeth(opcode) ? RoceCodec.AethBytes : 0)
        + (HasImmediate(opcode) ? RoceCodec.ImmDtBytes : 0);
}
