namespace P2pEmu.Emulator.Devices.Net;

/// <summary>
/// Consecutive packets of one RC message, PSN <c>First.Psn</c> onwards, described once: the first packet's headers
/// (with its RETH, if any), how many packets, the path MTU that cut them, and what only the last one carries. Every
/// packet but the last holds exactly <see cref="Mtu"/> payload bytes; the middle ones have the message's Middle opcode.
/// A NIC hands a run to <see cref="EthernetLink.TransmitRun"/>, which segments it into real frames whenever anyone can
/// see them (a capture, ICRC checking, an end that only takes frames) and otherwise passes it whole, as segmentation
/// offload would, so the receiving NIC processes the same packets without per-frame cost.
/// </summary>
public readonly struct RoceRun
{
    public RoceRun(in RocePacket first, int count, int mtu, IbOpcode lastOpcode, uint lastImmediate, bool lastAckRequest)
    {
        First = first;
        Count = count;
        Mtu = mtu;
        LastOpcode = lastOpcode;
        LastImmediate = lastImmediate;
        LastAckRequest = lastAckRequest;
    }

    /// <summary>One packet as a run of one.</summary>
    public RoceRun(in RocePacket packet)
        : this(packet, 1, int.MaxValue, packet.Opcode, packet.Immediate, packet.AckRequest)
    {
    }

    public RocePacket First { get; }

    public int Count { get; }

    public int Mtu { get; }

    public IbOpcode LastOpcode { get; }

    public uint LastImmediate { get; }

    public bool LastAckRequest { get; }

    /// <summary>The run's last packet's PSN (24-bit wrap).</summary>
    public uint LastPsn => unchecked(First.Psn + (uint)Count - 1) & 0xFF_FFFF;

    /// <summary>Whether the run ends its message (its last opcode is a Last or an Only).</summary>
    public bool EndsMessage => LastOpcode is IbOpcode.RcSendLast or IbOpcode.RcSendLastWithImmediate or IbOpcode.RcSendOnly
        or IbOpcode.RcSendOnlyWithImmediate or IbOpcode.RcRdmaWriteLast or IbOpcode.RcRdmaWriteLastWithImmediate
        or IbOpcode.RcRdmaWriteOnly or IbOpcode.RcRdmaWriteOnlyWithImmediate or IbOpcode.RcRdmaReadResponseLast
        or IbOpcode.RcRdmaReadResponseOnly or IbOpcode.RcAcknowledge or IbOpcode.RcRdmaReadRequest;

    /// <summary>The headers of packet <paramref name="index"/> of the run.</summary>
    public RocePacket PacketAt(int index)
    {
        if (Count == 1)
        {
            return First;
        }

        RocePacket packet = First;
        packet.Psn = unchecked(First.Psn + (uint)index) & 0xFF_FFFF;
        if (index == 0)
        {
            packet.AckRequest = false;
            return packet;
        }

        bool last = index == Count - 1;
        packet.Opcode = last ? LastOpcode : MiddleOf(First.Opcode);
        packet.Immediate = last ? LastImmediate : 0;
        packet.AckRequest = last && LastAckRequest;
        packet.VirtualAddress = 0;
        packet.RKey = 0;
        packet.DmaLength = 0;
        return packet;
    }

    /// <summary>Payload bytes of packet <paramref name="index"/> in a run carrying <paramref name="payloadBytes"/> in all.</summary>
    public int PayloadBytesAt(int index, int payloadBytes) =>
        index < Count - 1 ? Mtu : payloadBytes - ((Count - 1) * Mtu);

    /// <summary>The Middle opcode of the message a First opcode starts.</summary>
    public static IbOpcode MiddleOf(IbOpcode first) => first switch
    {
        IbOpcode.RcSendFirst or IbOpcode.RcSendMiddle => IbOpcode.RcSendMiddle,
        IbOpcode.RcRdmaWriteFirst or IbOpcode.RcRdmaWriteMiddle => IbOpcode.RcRdmaWriteMiddle,
        _ => IbOpcode.RcRdmaReadResponseMiddle,
    };
}
